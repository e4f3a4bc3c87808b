"""The engine: submit, launch, watch, stop, reattach and check health, with plain threads.

One engine owns a data folder at a time (`EngineLock`). It never blocks a
caller on a process: launching is quick (the shepherd does the waiting), each
running job has a waiter thread (the shepherd's reports arrive on a pipe; after
a restart, a pidfd wait on the shepherd), and one loop thread picks up queued
jobs, tails the logs and runs the health pass. Whatever the engine learns goes
to the store first and then to the listeners (the GUI, the CLI), as
`EngineEvent`s.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dynagui.core import control, proctrack, scheduler, spawn
from dynagui.core.cpusample import CpuSampler
from dynagui.core.events import EngineEvent
from dynagui.core.health import HealthChecker, HealthReport, Suspect
from dynagui.core.jobs import ACTIVE, Identity, Job, JobStatus, ProcRecord
from dynagui.core.lock import EngineLock
from dynagui.core.outcome import decide
from dynagui.core.paths import DataDir
from dynagui.core.progress import ProgressRecorder
from dynagui.core.runfiles import RunFiles
from dynagui.core.store import Store
from dynagui.core.submit import Settings, all_profiles

log = logging.getLogger("dynagui.engine")
_WINDOWS = sys.platform == "win32"


class Engine:
    def __init__(self, data_dir: DataDir, *, watch: bool = True, kind: str = "engine",
                 health_interval: float | None = None, health_in_loop: bool = True) -> None:
        self.data_dir = data_dir.ensure()
        self.store = Store(data_dir.database)
        self.settings = Settings.load(self.store)
        if health_interval is not None:
            self.settings.health_interval = health_interval
        self.watch = watch
        self.health_in_loop = health_in_loop  # the GUI drives the health pass from its own timer
        self._lock = EngineLock(data_dir.lock_file, kind)
        self._listeners: list[Callable[[EngineEvent], None]] = []
        self._stopping = threading.Event()
        self._loop_thread: threading.Thread | None = None
        self._waiters: dict[int, threading.Thread] = {}
        self._finalize_lock = threading.Lock()
        self._health_lock = threading.Lock()
        self._health = HealthChecker()
        self._cpu = CpuSampler()
        self._progress = ProgressRecorder(self.store, self._emit, self.settings.stall_after_s)
        self.last_report: HealthReport | None = None
        self.started = False
        # Waiters sleep in select() without timeouts; close() wakes them through this pipe.
        self._wake_r, self._wake_w = os.pipe() if not _WINDOWS else (-1, -1)

    # ------------------------------------------------------------ lifecycle
    def start(self, launch: bool = True) -> "Engine":
        """Own the data folder, adopt running jobs; with `launch`, also run the queue and the loop."""
        self._lock.acquire()
        self.started = True
        log.info("engine started on %s (pid %d)", self.data_dir.root, os.getpid())
        self.reattach()
        if not launch:
            return self
        if self.settings.auto_kill_ghosts:
            self.kill_suspects(self.health_check().ghosts)
        self.start_ready()
        self._loop_thread = threading.Thread(target=self._loop, name="dynagui-engine-loop", daemon=True)
        self._loop_thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop watching (solvers keep running) and release the data folder."""
        self._stopping.set()
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")
        threads = [t for t in [self._loop_thread, *self._waiters.values()] if t is not None]
        for t in threads:
            if t is not threading.current_thread():
                t.join(timeout)
        self._progress.flush_all()
        if self.started:
            self._lock.release()
        self.store.close()
        self.started = False
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def __enter__(self) -> "Engine":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def subscribe(self, listener: Callable[[EngineEvent], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, event: EngineEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop the engine watching solvers
                log.exception("engine listener failed on %s", event.kind)

    def _job_changed(self, job: Job | None) -> None:
        if job is not None:
            self._emit(EngineEvent("job-changed", job=job))

    # ------------------------------------------------------------- queueing
    def cores_in_use(self) -> set[int]:
        return {c for job in self.store.list_jobs(ACTIVE) for c in job.cores}

    def start_ready(self) -> list[Job]:
        """Launch queued jobs, in queue order, while their cores are free."""
        if self._stopping.is_set():
            return []
        launched = []
        with self._finalize_lock:
            active = self.store.list_jobs(ACTIVE)
            in_use = {c for job in active for c in job.cores}
            busy_dirs = {os.path.normcase(job.workdir) for job in active}
            budget = self.settings.core_budget
            for job in self.store.queued_jobs():
                if os.path.normcase(job.workdir) in busy_dirs:
                    continue  # two solvers in one folder would overwrite each other's files
                if job.ncpu > budget:
                    self._job_changed(self.store.transition(
                        job.id, JobStatus.FAILED, f"needs {job.ncpu} cores, more than the budget of {budget}",
                        expect=[JobStatus.QUEUED], ended_at=time.time()))
                    continue
                cores = scheduler.allocate(job.ncpu, budget, in_use)
                if cores is None:
                    break  # strict queue order: a big job is not starved by smaller ones behind it
                started = self._launch(job, cores)
                if started is not None:
                    launched.append(started)
                    in_use.update(cores)
                    busy_dirs.add(os.path.normcase(job.workdir))
        return launched

    def _launch(self, job: Job, cores: list[int]) -> Job | None:
        profile = all_profiles(self.store).get(job.solver)
        attempt = job.attempt + 1
        if profile is None:
            return self.store.transition(job.id, JobStatus.FAILED, f"solver profile {job.solver!r} no longer exists",
                                         expect=[JobStatus.QUEUED], ended_at=time.time())
        run_dir = self.data_dir.run_dir(f"{job.id}-{attempt}-{job.uid[:8]}")
        run_dir.mkdir(parents=True, exist_ok=True)
        log_path = str(Path(job.workdir) / f"{Path(job.deck).stem}.out.txt")
        command = profile.command(job.deck, job.ncpu, job.memory, job.extra_args, restart=job.restart_from)
        files = RunFiles(run_dir)
        files.write_json("spec.json", {
            "uid": job.uid, "job_id": job.id, "attempt": attempt, "command": command, "cwd": job.workdir,
            "env": profile.env, "log_path": log_path, "profile": profile.to_dict(),
            "affinity": scheduler.affinity_for(cores)})
        try:
            open(log_path, "wb").close()  # a new attempt starts a new log (as `> lsrun.out.txt` does)
        except OSError as exc:
            return self.store.transition(job.id, JobStatus.FAILED, f"cannot write the log file {log_path}: {exc.strerror}",
                                         expect=[JobStatus.QUEUED], ended_at=time.time())
        starting = self.store.transition(
            job.id, JobStatus.STARTING, f"launching on cores {','.join(map(str, cores))}", expect=[JobStatus.QUEUED],
            cores=cores, started_at=time.time(), ended_at=None, exit_code=None, attempt=attempt, log_path=log_path,
            log_offset=0, command=command, run_dir=str(run_dir), stop_requested=0, progress=None, sim_time=None,
            cycle=None, dt=None, eta_s=None, warnings=0, errors=0)
        if starting is None:
            return None
        try:
            popen = spawn.start_shepherd(run_dir, listen=self.watch)
        except OSError as exc:
            failed = self.store.transition(job.id, JobStatus.FAILED, f"could not start the job's shepherd: {exc}",
                                           expect=ACTIVE, ended_at=time.time())
            self._job_changed(failed)
            return None
        ident = proctrack.identity_of(popen.pid)
        if ident is not None:
            self.store.add_procs(job.id, attempt, [ProcRecord(ident, "shepherd", "shepherd", spawn.shepherd_command(run_dir)[0])])
        log.info("job %d (%s) launched: shepherd PID %d, cores %s, command %s", job.id, job.deck_name, popen.pid,
                 cores, command)
        self._progress.track(starting)
        self._job_changed(self.store.get_job(job.id))
        if self.watch:
            self._start_waiter(job.id, popen)
        return self.store.get_job(job.id)

    # ------------------------------------------------------------- watching
    def _start_waiter(self, job_id: int, popen: Any = None) -> None:
        t = threading.Thread(target=self._wait_job, args=(job_id, popen), name=f"dynagui-wait-{job_id}", daemon=True)
        self._waiters[job_id] = t
        t.start()

    def _wait_job(self, job_id: int, popen: Any) -> None:
        """Wait for the job's shepherd, then (if it died without a record) for its processes."""
        try:
            if popen is not None:
                self._read_reports(job_id, popen)
            else:
                shepherd = [p.identity for p in self.store.get_job(job_id).procs if p.role == "shepherd"]
                while shepherd and not self._stopping.is_set():
                    if proctrack.wait_any(shepherd, self._wait_slice, self._wake_fd):
                        break
            job = self.store.get_job(job_id)
            if job.run_dir_files().exit_record() is None:
                self._adopt_reported(job)
                while not self._stopping.is_set():
                    live = [p.identity for p in self.store.get_job(job_id).procs
                            if p.role != "shepherd" and proctrack.is_alive(p.identity)]
                    if not live:
                        break
                    proctrack.wait_any(live, self._wait_slice, self._wake_fd)
            if not self._stopping.is_set():
                self.finalize(job_id)
        except Exception:
            log.exception("waiter of job %d failed; the health pass will take over", job_id)
        finally:
            self._waiters.pop(job_id, None)

    @property
    def _wake_fd(self) -> int | None:
        return self._wake_r if self._wake_r >= 0 else None

    @property
    def _wait_slice(self) -> float | None:
        # POSIX waiters are woken by the pipe; elsewhere they look at the stop flag every 2 s
        return None if self._wake_r >= 0 else 2.0

    def _report_lines(self, popen: Any) -> Iterator[bytes]:
        """The shepherd's report lines, until it exits (EOF) or the engine stops."""
        if _WINDOWS:  # select() takes no pipes on Windows: a blocking read in this daemon thread
            for line in popen.stdout:
                if self._stopping.is_set():
                    return
                yield line
            return
        fd = popen.stdout.fileno()
        buf = b""
        while not self._stopping.is_set():
            ready, _, _ = select.select([fd, self._wake_r], [], [])
            if fd not in ready:
                continue
            data = os.read(fd, 65536)
            if not data:
                return
            buf += data
            *lines, buf = buf.split(b"\n")
            yield from lines

    def _read_reports(self, job_id: int, popen: Any) -> None:
        for line in self._report_lines(popen):
            rec = _json_line(line)
            if rec and rec.get("kind") == "proc":
                self._record_procs(job_id, [_proc_record(rec)])
        if self._stopping.is_set():
            spawn.release(popen)  # the engine goes, the shepherd stays
        else:
            popen.wait()
            popen.stdout.close()

    def _adopt_reported(self, job: Job) -> None:
        """Take the identities the shepherd wrote down (also while no engine was running)."""
        records, _ = job.run_dir_files().read_procs()
        if records:
            self._record_procs(job.id, [_proc_record(r) for r in records])

    def _record_procs(self, job_id: int, records: list[ProcRecord]) -> None:
        job = self.store.get_job(job_id)
        if self.store.add_procs(job_id, job.attempt, records) == 0:
            return
        for rec in records:
            if rec.role == "solver":
                log.info("Found solver process %s (PID %d, started %s) for job %d", rec.name, rec.identity.pid,
                         time.strftime("%H:%M:%S", time.localtime(rec.identity.create_time)), job_id)
        solvers = [r for r in records if r.role == "solver"]
        changed = None
        if solvers and job.status == JobStatus.STARTING:
            changed = self.store.transition(job_id, JobStatus.RUNNING,
                                            f"solver running (PID {', '.join(str(r.identity.pid) for r in solvers)})",
                                            expect=[JobStatus.STARTING])
        self._job_changed(changed or self.store.get_job(job_id))

    def finalize(self, job_id: int) -> Job | None:
        """Settle a job whose processes have all ended; exactly once, whoever calls first."""
        with self._finalize_lock:
            job = self.store.get_job(job_id)
            if not job.status.is_active:
                return None
            if any(proctrack.is_alive(p.identity) for p in job.procs):
                return None
            files = job.run_dir_files()
            exit_record = files.exit_record()
            summary = self._progress.finish(job)
            outcome = decide(summary, job.stop_requested, exit_record)
            ended_at = (exit_record or {}).get("ended_at") or time.time()
            done = self.store.transition(job_id, outcome.status, outcome.reason, expect=ACTIVE, ended_at=ended_at,
                                         exit_code=(exit_record or {}).get("exit_code"),
                                         verdict=summary.verdict)
            self.store.mark_procs_ended(job_id, [p.identity for p in job.procs])
        if done is not None:
            log.info("job %d (%s) %s", job_id, job.deck_name, outcome)
            self._job_changed(done)
            self.start_ready()
        return done

    # -------------------------------------------------------------- reattach
    def reattach(self) -> None:
        """Adopt the active jobs of an earlier engine: alive ones are watched, dead ones settled."""
        for job in self.store.list_jobs(ACTIVE):
            self._adopt_reported(job)
            job = self.store.get_job(job.id)
            live = [p for p in job.procs if proctrack.is_alive(p.identity)]
            if not live:
                log.info("job %d ended while no engine watched it; settling it", job.id)
                self._progress.track(job)
                self.finalize(job.id)
                continue
            log.info("reattached job %d (%s): %s", job.id, job.deck_name,
                     ", ".join(f"{p.role} {p.identity.pid}" for p in live))
            self._progress.track(job)
            if self.watch:
                self._start_waiter(job.id)

    # ---------------------------------------------------------------- health
    def health_check(self) -> HealthReport:
        """One pass: settle dead jobs, record newly found processes, list ghosts and untracked solvers."""
        with self._health_lock:
            active = self.store.list_jobs(ACTIVE)
            report = self._health.run(active, all_profiles(self.store).values(), self.store.all_known_identities(),
                                      self._uid_owner, self.store.marker_tag)
        for job_id, records in report.found.items():
            self._record_procs(job_id, records)
        for job in active:
            if job.id not in self._waiters:
                self._adopt_reported(job)
        for job_id in report.dead_jobs:
            self.finalize(job_id)
        for suspect in report.suspects:
            log.warning("%s process %s (PID %d, started %s): %s", suspect.kind, suspect.name, suspect.identity.pid,
                        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(suspect.identity.create_time)), suspect.why)
        if report.ghosts and self.settings.auto_kill_ghosts:
            self.kill_suspects(report.ghosts)
        still_active = self.store.list_jobs(ACTIVE)
        rows, machine = self._cpu.sample(still_active, self.settings.core_budget)
        self.store.add_cpu_samples(rows, machine)
        self.last_report = report
        self._emit(EngineEvent("health", report=report, data={"cpu": rows, "machine": machine}))
        return report

    def _uid_owner(self, uid: str) -> tuple[int, str] | None:
        job = self.store.job_by_uid(uid)
        return (job.id, job.status.value) if job else None

    def kill_suspects(self, suspects: list[Suspect]) -> list[Suspect]:
        return control.kill_suspects(suspects)

    # ----------------------------------------------------------------- loop
    def _loop(self) -> None:
        last_version = -1
        next_health = time.monotonic() + self.settings.health_interval
        next_tail = 0.0
        while not self._stopping.wait(0.5):
            try:
                version = self.store.data_version()
                if version != last_version:  # another process (a CLI submit) committed something
                    last_version = version
                    self.start_ready()
                now = time.monotonic()
                if now >= next_tail:
                    next_tail = now + 1.0
                    self._progress.poll_all()
                if self.health_in_loop and now >= next_health:
                    next_health = now + self.settings.health_interval
                    self.health_check()
            except Exception:
                log.exception("engine loop pass failed; trying again")

    # --------------------------------------------------------- user actions
    def stop(self, job_id: int, grace: float | None = None, kill: bool = False, wait: bool = False) -> Job:
        job = control.request_stop(self.store, job_id, kill=kill)
        self._job_changed(job)
        if not job.status.is_active:
            return job
        grace = self.settings.stop_grace if grace is None else grace
        t = threading.Thread(target=control.stop_ladder, args=(self.store, job_id, grace, kill, self._stopping.is_set),
                             name=f"dynagui-stop-{job_id}", daemon=True)
        t.start()
        if wait:
            t.join()
        return self.store.get_job(job_id)

    def adopt(self, ident: Identity) -> Job:
        """Track an untracked solver from now on, as a running job of its own."""
        proc = proctrack.process_for(ident)
        if proc is None:
            raise control.ControlError(f"process {ident.pid} is gone")
        try:
            cmdline, cwd, name = proc.cmdline(), proc.cwd(), proc.name()
        except Exception as exc:
            raise control.ControlError(f"process {ident.pid} cannot be inspected: {exc}") from exc
        profile = next((p for p in all_profiles(self.store).values() if p.matches(cmdline)), None)
        if profile is None:
            raise control.ControlError(f"process {ident.pid} does not run a configured solver")
        args = {a.split("=", 1)[0].lower(): a.split("=", 1)[1] for a in cmdline if "=" in a}
        deck = Path(cwd, args.get("i", args.get("r", "unknown.k")))
        try:
            ncpu = max(1, abs(int(args.get("ncpu", "1"))))
        except ValueError:
            ncpu = 1
        # its stdout is not ours to read: follow the message file LS-DYNA writes beside it
        log_path = str(Path(cwd, "mes0000" if profile.parallel == "mpp" else "messag"))
        with self._finalize_lock:
            in_use = {c for job in self.store.list_jobs(ACTIVE) for c in job.cores}
            cores = scheduler.allocate(ncpu, self.settings.core_budget, in_use) or []
            job = self.store.insert_job({
                "uid": self.store.new_uid(), "deck": str(deck), "workdir": cwd, "solver": profile.name,
                "ncpu": ncpu, "status": JobStatus.RUNNING.value, "started_at": ident.create_time, "attempt": 1,
                "cores": cores, "log_path": log_path, "command": cmdline,
                "run_dir": str(self.data_dir.run_dir(f"adopted-{ident.pid}-{int(ident.create_time)}")),
            }, reason=f"adopted running solver {name} (PID {ident.pid})")
            self.store.add_procs(job.id, 1, [ProcRecord(ident, "solver", name, cmdline[0] if cmdline else "")])
        job = self.store.get_job(job.id)
        log.info("adopted untracked solver %s (PID %d) as job %d", name, ident.pid, job.id)
        self._progress.track(job)
        self._job_changed(job)
        if self.watch:
            self._start_waiter(job.id)
        return job

    def switch(self, job_id: int, switch: str) -> str:
        token = control.send_switch(self.store, job_id, switch)
        if token.startswith("endtime="):
            self._progress.set_end_time(job_id, float(token.split("=", 1)[1]))
        return token


def _json_line(line: bytes) -> dict[str, Any] | None:
    import json

    try:
        return json.loads(line)
    except ValueError:
        return None


def _proc_record(rec: dict[str, Any]) -> ProcRecord:
    return ProcRecord(Identity(int(rec["pid"]), float(rec["create_time"])), rec.get("role", "helper"),
                      rec.get("name", ""), rec.get("exe", ""))
