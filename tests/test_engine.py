"""The ghost-proof engine, with real shepherds and real simulator processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from conftest import wait_for
from helpers import JobWatch

from dynagui.core import proctrack
from dynagui.core.engine import Engine
from dynagui.core.jobs import JobStatus
from dynagui.core.paths import DataDir
from dynagui.core.submit import submit


def _submit(engine: Engine, deck: Path, **kw) -> int:
    job, _warnings = submit(engine.store, deck=str(deck), **kw)
    engine.start_ready()
    return job.id


def _marked(uid: str) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter():
        try:
            if p.environ().get("DYNAGUI_JOB") == uid:
                out.append(p)
        except psutil.Error:
            continue
    return out


def _is_rank(p: psutil.Process) -> bool:
    try:
        return p.cmdline()[1:3] == ["-m", "dynagui.simulator"]
    except psutil.Error:
        return False


# 1 --------------------------------------------------------------------------
def test_killed_solver_is_seen_by_its_waiter(engine: Engine, deck_factory) -> None:
    watch = JobWatch(engine)
    job_id = _submit(engine, deck_factory("wall=60", end_time=1.0), ncpu=2)
    job = watch.running(job_id)
    assert engine.cores_in_use() == set(job.cores) and len(job.cores) == 2
    os.kill(job.solver_pids[0], signal.SIGKILL)
    job = watch.final(job_id, timeout=10)
    assert job.status == JobStatus.FAILED
    assert "process died" in job.reason
    assert engine.cores_in_use() == set()
    assert job.exit_code == -9


def test_killed_solver_of_an_adopted_job_is_seen_by_the_health_pass(data_dir: DataDir, deck_factory) -> None:
    first = Engine(data_dir).start()
    job_id = _submit(first, deck_factory("wall=60", end_time=1.0))
    JobWatch(first).running(job_id)
    first.close()  # the engine goes; the solver and its shepherd stay
    adopter = Engine(data_dir, watch=False).start()  # no waiters: only the health pass watches
    try:
        job = adopter.store.get_job(job_id)
        assert job.status == JobStatus.RUNNING and proctrack.is_alive(job.procs[1].identity)
        for pid in [p.identity.pid for p in job.procs]:  # solver and shepherd die: nobody reports anything
            os.kill(pid, signal.SIGKILL)
        report = adopter.health_check()
        assert job_id in report.dead_jobs
        job = adopter.store.get_job(job_id)
        assert job.status == JobStatus.FAILED and "process died" in job.reason
        assert adopter.cores_in_use() == set()
    finally:
        adopter.close()


# 2 --------------------------------------------------------------------------
def test_wrapper_that_exits_at_once_leaves_exactly_the_ranks_recorded(engine: Engine, deck_factory) -> None:
    watch = JobWatch(engine)
    job_id = _submit(engine, deck_factory("wall=60", end_time=1.0), solver="simulator-mpp", ncpu=2)
    job = watch.wait(job_id, lambda j: len(j.solver_pids) == 2, what="two ranks recorded")
    ranks = sorted(p.pid for p in _marked(job.uid) if _is_rank(p))
    assert sorted(job.solver_pids) == ranks and len(ranks) == 2
    roles = sorted(p.role for p in job.procs)
    assert roles == ["helper", "helper", "launcher", "shepherd", "solver", "solver"]
    engine.stop(job_id, kill=True, wait=True)
    job = watch.final(job_id)
    assert job.status == JobStatus.STOPPED and not _marked(job.uid)


@pytest.mark.mpich
@pytest.mark.skipif(shutil.which("mpiexec.mpich") is None, reason="Debian's MPICH (mpiexec.mpich) is not installed")
def test_real_mpich_tree_ranks_recorded_and_killed_proxy_leaves_no_ghost(engine: Engine, deck_factory) -> None:
    engine.store.save_solver_profile("mpich-sim", {
        "name": "mpich-sim", "executable": sys.executable, "parallel": "mpp",
        "solver_args": ["-m", "dynagui.simulator"], "mpi_launcher": ["mpiexec.mpich", "-np", "{ncpu}"]})
    watch = JobWatch(engine)
    job_id = _submit(engine, deck_factory("wall=60", end_time=1.0), solver="mpich-sim", ncpu=2)
    job = watch.wait(job_id, lambda j: len(j.solver_pids) == 2, what="two MPICH ranks recorded")
    marked = _marked(job.uid)
    assert sorted(job.solver_pids) == sorted(p.pid for p in marked if _is_rank(p))
    proxy = [p for p in marked if p.name().startswith("hydra_pmi_prox")]
    assert proxy, [p.name() for p in marked]
    proxy[0].kill()  # the classic ghost maker: ranks lose their parent
    wait_for(lambda: not proxy[0].is_running() or proxy[0].status() == psutil.STATUS_ZOMBIE, what="proxy gone")
    engine.stop(job_id, grace=2, wait=True)
    job = watch.final(job_id)
    assert job.status in (JobStatus.STOPPED, JobStatus.FAILED)
    assert not [p for p in _marked(job.uid) if p.status() != psutil.STATUS_ZOMBIE]


# 3 --------------------------------------------------------------------------
def _cli(data_dir: DataDir, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dynagui", "--data-dir", str(data_dir.root), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_engine_killed_hard_solvers_survive_and_are_adopted(data_dir: DataDir, deck_factory) -> None:
    serve = subprocess.Popen([sys.executable, "-m", "dynagui", "--data-dir", str(data_dir.root), "serve",
                              "--cores", "4", "--health-interval", "0.5"], stderr=subprocess.PIPE)
    try:
        ids = []
        for _ in range(2):
            r = _cli(data_dir, "submit", str(deck_factory("wall=8", end_time=0.02)))
            assert r.returncode == 0, r.stderr
            ids.append(int(r.stdout.split()[-1]))

        seen: list = []

        def both_running() -> bool:
            jobs = json.loads(_cli(data_dir, "list", "--json").stdout)
            seen[:] = [(j["id"], j["status"], j["progress"], j["reason"]) for j in jobs]
            return all(j["status"] == "running" and j["progress"] for j in jobs)

        try:
            wait_for(both_running, what="both jobs running with progress")
        except AssertionError as exc:
            log = (data_dir.logs / "dynagui.log").read_text()[-3000:]
            raise AssertionError(f"{exc}; last seen: {seen}; engine log: {log}") from None
        assert json.loads(_cli(data_dir, "ghosts", "--json").stdout) == []
    finally:
        serve.send_signal(signal.SIGKILL)
        serve.wait()
        serve.stderr.close()
    jobs = json.loads(_cli(data_dir, "list", "--json").stdout)
    solver_pids = [pid for j in jobs for pid in j["solver_pids"]]
    assert len(solver_pids) == 2 and all(psutil.pid_exists(p) for p in solver_pids)
    assert json.loads(_cli(data_dir, "ghosts", "--json").stdout) == []
    adopter = Engine(data_dir).start()
    try:
        watch = JobWatch(adopter)
        for job_id in ids:
            job = watch.final(job_id)
            assert job.status == JobStatus.FINISHED, job.reason
            samples = adopter.store.samples(job_id)
            assert samples[0]["sim_time"] < 0.005 and samples[-1]["sim_time"] == pytest.approx(0.02, rel=1e-3)
            assert job.progress == 1.0
        assert json.loads(_cli(data_dir, "ghosts", "--json").stdout) == []
    finally:
        adopter.close()


# 4 --------------------------------------------------------------------------
def test_reused_pid_is_never_taken_for_the_solver(data_dir: DataDir, tmp_path: Path) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        ident = proctrack.identity_of(bystander.pid)
        eng = Engine(data_dir)
        deck = tmp_path / "old.k"
        deck.write_text("*KEYWORD\n*END\n")
        job, _ = submit(eng.store, deck=str(deck))
        run_dir = data_dir.run_dir("old")
        run_dir.mkdir(parents=True)
        eng.store.transition(job.id, JobStatus.STARTING, "test", run_dir=str(run_dir), attempt=1)
        eng.store.transition(job.id, JobStatus.RUNNING, "test")
        from dynagui.core.jobs import Identity, ProcRecord

        # the recorded solver had this PID, but was created long before the process now holding it
        eng.store.add_procs(job.id, 1, [ProcRecord(Identity(bystander.pid, ident.create_time - 1000.0), "solver")])
        eng.start()
        try:
            job = eng.store.get_job(job.id)
            assert job.status == JobStatus.FAILED and "process died" in job.reason
            assert eng.health_check().suspects == []
        finally:
            eng.close()
        assert bystander.poll() is None, "the unrelated process must not be touched"
    finally:
        bystander.kill()
        bystander.wait()


# 5 --------------------------------------------------------------------------
def test_ghost_with_a_finished_jobs_marker_is_found_and_killed_innocents_are_not(
        engine: Engine, deck_factory, tmp_path: Path) -> None:
    watch = JobWatch(engine)
    job_id = _submit(engine, deck_factory("wall=0.5"))
    done = watch.final(job_id)
    assert done.status == JobStatus.FINISHED
    ghost_dir = tmp_path / "ghost"
    deck = deck_factory("wall=60", end_time=1.0, folder="ghost")
    ghost = subprocess.Popen([sys.executable, "-m", "dynagui.simulator", f"i={deck}"], cwd=ghost_dir,
                             env={**os.environ, "DYNAGUI_JOB": done.uid}, stdout=subprocess.DEVNULL)
    dynamo = tmp_path / "dynamo-lsdyna"
    shutil.copy(shutil.which("sleep"), dynamo)
    innocent = subprocess.Popen([str(dynamo), "120"])
    try:
        report = wait_for(lambda: (r := engine.health_check()).ghosts and r, what="the ghost in a health pass")
        assert [g.identity.pid for g in report.ghosts] == [ghost.pid]
        assert report.ghosts[0].job_id == job_id and "finished" in report.ghosts[0].why
        assert innocent.pid not in [s.identity.pid for s in report.suspects]
        out = _cli(engine.data_dir, "ghosts", "--kill", "--include-untracked", "--json")
        listed = json.loads(out.stdout)
        assert [(g["pid"], g["kind"], g["killed"]) for g in listed] == [(ghost.pid, "ghost", True)]
        assert ghost.wait(timeout=10) is not None
        assert innocent.poll() is None, "a process named like dyna is nobody's ghost"
        assert engine.health_check().ghosts == []
    finally:
        for p in (ghost, innocent):
            p.kill()
            p.wait()


def test_untracked_solver_is_listed_and_killed_only_on_request(engine: Engine, deck_factory) -> None:
    deck = deck_factory("wall=60", end_time=1.0, folder="manual")
    manual = subprocess.Popen([sys.executable, "-m", "dynagui.simulator", f"i={deck}"], cwd=deck.parent,
                              stdout=subprocess.DEVNULL, env={k: v for k, v in os.environ.items() if k != "DYNAGUI_JOB"})
    try:
        listed = wait_for(lambda: [g for g in json.loads(_cli(engine.data_dir, "ghosts", "--json").stdout)
                                   if g["pid"] == manual.pid], what="the untracked solver")
        assert listed[0]["kind"] == "untracked" and listed[0]["job_id"] is None
        _cli(engine.data_dir, "ghosts", "--kill")
        assert manual.poll() is None, "untracked solvers are not killed without --include-untracked"
        _cli(engine.data_dir, "ghosts", "--kill", "--include-untracked")
        assert manual.wait(timeout=10) is not None
    finally:
        manual.kill()
        manual.wait()


# 6 --------------------------------------------------------------------------
def test_stop_writes_sw1_and_the_job_is_stopped_not_finished(engine: Engine, deck_factory) -> None:
    watch = JobWatch(engine)
    deck = deck_factory("wall=60", end_time=1.0)
    job_id = _submit(engine, deck)
    watch.running(job_id)
    watch.wait(job_id, lambda j: (j.progress or 0) > 0, what="progress")
    engine.stop(job_id, grace=20)
    job = watch.final(job_id, timeout=20)
    assert job.status == JobStatus.STOPPED and "restart dump" in job.reason
    assert (deck.parent / "d3dump01").exists()
    assert "kill file detected" in Path(job.log_path).read_text()
    assert [e["to_status"] for e in engine.store.events(job_id)][-2:] == ["stopping", "stopped"]


def test_a_solver_that_ignores_d3kil_is_terminated_after_the_grace_time(engine: Engine, deck_factory) -> None:
    watch = JobWatch(engine)
    job_id = _submit(engine, deck_factory("wall=60 ignore_d3kil=1", end_time=1.0))
    watch.running(job_id)
    engine.stop(job_id, grace=1.0)
    job = watch.final(job_id, timeout=20)
    assert job.status == JobStatus.STOPPED and "terminated" in job.reason


# 7 --------------------------------------------------------------------------
def test_core_budget_three_jobs_of_two_on_four(engine: Engine, deck_factory) -> None:
    watch = JobWatch(engine)
    peak = []

    def check(_event) -> None:
        active = engine.store.list_jobs([JobStatus.STARTING, JobStatus.RUNNING, JobStatus.STOPPING])
        cores = [c for j in active for c in j.cores]
        assert len(cores) == len(set(cores)), "a core given twice"
        peak.append(len(cores))

    engine.subscribe(check)
    a = _submit(engine, deck_factory("wall=1.5"), ncpu=2)
    b = _submit(engine, deck_factory("wall=4"), ncpu=2)
    c = _submit(engine, deck_factory("wall=1"), ncpu=2)
    assert engine.store.get_job(c).status == JobStatus.QUEUED
    assert {engine.store.get_job(a).status, engine.store.get_job(b).status} <= {JobStatus.STARTING, JobStatus.RUNNING}
    first_end = watch.final(a)
    job_c = watch.wait(c, lambda j: j.status != JobStatus.QUEUED, what="the third job to start")
    assert job_c.started_at >= first_end.ended_at - 0.01
    assert engine.store.get_job(b).status.is_active, "the third job started while the second was still running"
    for j in (b, c):
        assert watch.final(j).status == JobStatus.FINISHED
    assert max(peak) <= 4


def test_two_jobs_never_share_a_working_directory(engine: Engine, deck_factory) -> None:
    watch = JobWatch(engine)
    first = _submit(engine, deck_factory("wall=1.5", folder="shared"))
    second = _submit(engine, deck_factory("wall=1", folder="shared"))
    assert engine.store.get_job(second).status == JobStatus.QUEUED, "the folder is busy"
    done = watch.final(first)
    started = watch.wait(second, lambda j: j.started_at is not None, what="the second job to start")
    assert started.started_at >= done.ended_at - 0.01
    assert watch.final(second).status == JobStatus.FINISHED


def test_restart_from_the_dump_of_a_stopped_job(engine: Engine, deck_factory) -> None:
    from dynagui.core import queue

    watch = JobWatch(engine)
    deck = deck_factory("wall=8", end_time=0.02)
    job_id = _submit(engine, deck)
    watch.wait(job_id, lambda j: (j.progress or 0) > 0.2, what="some progress")
    engine.stop(job_id, grace=20)
    stopped = watch.final(job_id)
    assert stopped.status == JobStatus.STOPPED and (deck.parent / "d3dump01").exists()
    queue.relaunch(engine.store, job_id, restart_from=str(deck.parent / "d3dump01"))
    engine.start_ready()
    job = watch.wait(job_id, lambda j: j.attempt == 2 and j.status.is_final, timeout=60, what="the restart to end")
    assert job.status == JobStatus.FINISHED
    assert any(a.startswith("r=") for a in job.command) and not any(a.startswith("i=") for a in job.command)
    assert engine.store.samples(job_id)[-1]["sim_time"] == pytest.approx(0.02, rel=1e-3)
    # the restart went on from the dump's cycle instead of starting at cycle 1 again
    assert job.cycle > stopped.cycle


def test_an_adopted_untracked_solver_is_tracked_to_its_end(engine: Engine, deck_factory) -> None:
    deck = deck_factory("wall=3", folder="by-hand")
    manual = subprocess.Popen([sys.executable, "-m", "dynagui.simulator", f"i={deck}", "ncpu=1"], cwd=deck.parent,
                              stdout=subprocess.DEVNULL, env={k: v for k, v in os.environ.items() if k != "DYNAGUI_JOB"})
    try:
        suspect = wait_for(lambda: [s for s in engine.health_check().untracked if s.identity.pid == manual.pid],
                           what="the untracked solver")[0]
        job = engine.adopt(suspect.identity)
        assert job.status == JobStatus.RUNNING and job.solver_pids == [manual.pid]
        assert engine.health_check().untracked == []
        job = JobWatch(engine).final(job.id)
        assert job.status == JobStatus.FINISHED, job.reason  # its messag file showed the normal banner
    finally:
        manual.kill()
        manual.wait()
