"""The CLI contract that scripts and acceptance checks rely on, and its answers to bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import real_file, wait_for

from dynagui.core.paths import DataDir
from dynagui.core.store import Store

STATUSES = {"queued", "starting", "running", "stopping", "finished", "failed", "stopped"}
JOB_KEYS = {"id", "uid", "status", "reason", "progress", "sim_time", "end_time", "cycle", "dt", "eta_s",
            "solver_pids", "cores", "ncpu", "workdir", "log"}


def cli(data_dir: DataDir, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dynagui", "--data-dir", str(data_dir.root), *args],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def snapshot(data_dir: DataDir) -> tuple:
    if not data_dir.database.exists():
        return ((), ())
    store = Store(data_dir.database)
    try:
        jobs = tuple(store.db.execute("select * from jobs").fetchall())
        events = tuple(store.db.execute("select * from events").fetchall())
        return jobs, events
    finally:
        store.close()


def test_submit_prints_the_id_alone_and_json_has_the_contract_fields(data_dir: DataDir, deck_factory) -> None:
    deck = deck_factory("wall=1")
    r = cli(data_dir, "submit", str(deck), "--ncpu", "1")
    assert r.returncode == 0, r.stderr
    job_id = int(r.stdout.strip().splitlines()[-1])
    listed = json.loads(cli(data_dir, "list", "--json").stdout)
    assert [j["id"] for j in listed] == [job_id]
    assert JOB_KEYS <= set(listed[0]) and listed[0]["status"] == "queued"
    shown = json.loads(cli(data_dir, "show", str(job_id), "--json").stdout)
    assert JOB_KEYS <= set(shown) and shown["uid"] == listed[0]["uid"] and shown["status"] in STATUSES
    assert isinstance(shown["solver_pids"], list) and isinstance(shown["cores"], list)


def test_submit_wait_runs_an_engine_and_exits_by_the_outcome(data_dir: DataDir, deck_factory) -> None:
    r = cli(data_dir, "submit", str(deck_factory("wall=1")), "--wait")
    assert r.returncode == 0, r.stderr
    job = json.loads(cli(data_dir, "show", r.stdout.split()[-1], "--json").stdout)
    assert job["status"] == "finished" and job["progress"] == 1.0 and job["end_time"] == pytest.approx(0.01)
    r = cli(data_dir, "submit", str(deck_factory("wall=1 crash_at=0.3")), "--wait")
    assert r.returncode == 1
    job = json.loads(cli(data_dir, "show", r.stdout.split()[-1], "--json").stdout)
    assert job["status"] == "failed" and "forrtl" in job["reason"]


def test_a_running_engine_picks_up_submissions_and_a_second_engine_refuses(data_dir: DataDir, deck_factory) -> None:
    serve = subprocess.Popen([sys.executable, "-m", "dynagui", "--data-dir", str(data_dir.root), "serve",
                              "--cores", "2"], stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: data_dir.lock_file.exists(), what="the engine's lock")
        second = cli(data_dir, "serve")
        assert second.returncode == 2 and "Another DynaGUI engine" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        job_id = cli(data_dir, "submit", str(deck_factory("wall=1"))).stdout.split()[-1]
        wait_for(lambda: json.loads(cli(data_dir, "show", job_id, "--json").stdout)["status"] != "queued",
                 timeout=5, what="the engine to start the job")
        wait_for(lambda: json.loads(cli(data_dir, "show", job_id, "--json").stdout)["status"] == "finished",
                 what="the job to finish")
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=20) == 0
        serve.stderr.close()
    assert not data_dir.lock_file.exists()


def test_stop_and_switch_from_the_cli_with_no_engine_running(data_dir: DataDir, deck_factory) -> None:
    deck = deck_factory("wall=60", end_time=1.0)
    job_id = cli(data_dir, "submit", str(deck)).stdout.split()[-1]
    from dynagui.core.engine import Engine

    eng = Engine(data_dir).start()
    try:
        wait_for(lambda: eng.store.get_job(int(job_id)).solver_pids, what="the solver")
    finally:
        eng.close()
    r = cli(data_dir, "switch", job_id, "sw3")
    assert r.returncode == 0 and "wrote sw3." in r.stdout
    wait_for(lambda: (deck.parent / "d3dump01").exists(), what="the sw3 restart dump")
    r = cli(data_dir, "stop", job_id, "--grace", "10")
    assert r.returncode == 0, r.stderr
    assert "stopped" in r.stdout
    job = json.loads(cli(data_dir, "show", job_id, "--json").stdout)
    assert job["status"] == "stopped" and "restart dump" in job["reason"]


def test_parse_json_of_a_real_file(data_dir: DataDir) -> None:
    path = real_file("Firehawk4427__PILLARS-LSDyna__test_null__lsrun.out.txt")
    d = json.loads(cli(data_dir, "parse", str(path), "--json").stdout)
    assert d["verdict"] == "crashed" and d["cycle"] == 915000 and d["sim_time"] == pytest.approx(39.053)
    assert d["end_time"] == 40.0 and d["version"] == "R13" and d["precision"] == "double" and d["parallel"] == "smp"
    for key in ("warnings", "errors", "licence", "eta_s"):
        assert key in d


def test_solvers_add_list_remove(data_dir: DataDir, tmp_path: Path) -> None:
    exe = tmp_path / "ls-dyna_smp_d_R13.1.1_x64"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert cli(data_dir, "solvers", "add", "r13", "--exe", str(exe), "--env", "LSTC_LICENSE=ANSYS").returncode == 0
    names = [p["name"] for p in json.loads(cli(data_dir, "solvers", "list", "--json").stdout)]
    assert names == ["simulator", "simulator-mpp", "r13"]
    assert cli(data_dir, "solvers", "remove", "simulator").returncode == 2
    assert cli(data_dir, "solvers", "remove", "r13").returncode == 0
    assert "[ok] solver simulator" in cli(data_dir, "doctor").stdout


def _bad_inputs(deck: Path) -> list[tuple[list[str], str]]:
    return [
        (["submit", str(deck.parent / "missing.k")], "does not exist"),
        (["submit", str(deck.parent)], "is not a file"),
        (["submit", "/proc/self/mem"], "cannot be read"),
        (["submit", str(deck), "--solver", "nastran"], "unknown solver"),
        (["submit", str(deck), "--ncpu", "0"], "at least 1"),
        (["submit", str(deck), "--ncpu", "999"], "core budget"),
        (["submit", str(deck), "--memory", "lots"], "memory"),
        (["submit", str(deck), "--workdir", "/proc"], "not writable"),
        (["submit", str(deck), "--workdir", str(deck.parent / "nowhere")], "does not exist"),
        (["show", "4242"], "no job 4242"),
        (["stop", "4242"], "no job 4242"),
        (["switch", "4242", "sw2"], "no job 4242"),
        (["switch", "1", "sw9"], "sense switch"),
        (["ghosts", "--include-untracked"], "--kill"),
        (["submit"], "deck"),
    ]


def test_bad_input_one_line_exit_2_nothing_written(data_dir: DataDir, deck_factory) -> None:
    deck = deck_factory("wall=60", end_time=1.0)
    assert cli(data_dir, "submit", str(deck)).returncode == 0  # job 1, queued: sw9 must be refused on its merits
    before = snapshot(data_dir)
    for args, words in _bad_inputs(deck):
        r = cli(data_dir, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert snapshot(data_dir) == before, args


def test_deck_paths_with_shell_characters_are_just_paths(data_dir: DataDir, tmp_path: Path) -> None:
    from conftest import write_deck

    folder = tmp_path / "crash tests & more; 100% ünïcode $(touch pwned)"
    deck = write_deck(folder, name="front 'bumper' \"v2\".k", scenario="wall=0.5")
    r = cli(data_dir, "submit", str(deck), "--wait")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    job = json.loads(cli(data_dir, "show", r.stdout.split()[-1], "--json").stdout)
    assert job["workdir"] == str(folder) and os.path.exists(job["log"])


def test_queue_order_priority_ncpu_relaunch_and_remove(data_dir: DataDir, deck_factory) -> None:
    ids = [cli(data_dir, "submit", str(deck_factory("wall=1"))).stdout.split()[-1] for _ in range(3)]
    assert cli(data_dir, "queue", ids[2], "--up").stdout.strip() == f"queue: {ids[0]} {ids[2]} {ids[1]}"
    assert cli(data_dir, "queue", ids[1], "--priority", "5").stdout.strip() == f"queue: {ids[1]} {ids[0]} {ids[2]}"
    assert cli(data_dir, "queue", ids[0], "--ncpu", "2").returncode == 0
    assert json.loads(cli(data_dir, "show", ids[0], "--json").stdout)["ncpu"] == 2
    r = cli(data_dir, "queue", ids[0], "--ncpu", "99")
    assert r.returncode == 2 and "core budget" in r.stderr
    assert cli(data_dir, "relaunch", ids[0]).returncode == 2  # still queued: nothing to relaunch
    assert cli(data_dir, "stop", ids[0]).returncode == 0  # a queued job is simply taken off the queue
    assert json.loads(cli(data_dir, "show", ids[0], "--json").stdout)["status"] == "stopped"
    assert cli(data_dir, "relaunch", ids[0]).returncode == 0
    assert json.loads(cli(data_dir, "show", ids[0], "--json").stdout)["status"] == "queued"
    assert cli(data_dir, "remove", ids[2]).returncode == 0
    assert [j["id"] for j in json.loads(cli(data_dir, "list", "--json").stdout)] == [int(ids[0]), int(ids[1])]


def test_low_disk_space_warns_but_submits(data_dir: DataDir, deck_factory) -> None:
    store = Store(data_dir.database)
    from dynagui.core.submit import Settings

    Settings().save(store, disk_warn_gb=10_000_000.0)
    store.close()
    r = cli(data_dir, "submit", str(deck_factory("wall=1")))
    assert r.returncode == 0 and r.stdout.strip() == "1"
    assert "warning: only" in r.stderr and "GB free" in r.stderr
