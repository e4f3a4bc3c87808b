"""Figures 1 and 2: how fast a dead solver is settled, and how fast a new rank is recorded."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from benchmarks.common import Figure, median, temp_dir, wait_for, write_deck
from dynagui.core.engine import Engine
from dynagui.core.paths import DataDir
from dynagui.core.submit import submit

POLL_S = 5.0  # the watchdog of the launcher DynaGUI replaces


def _engine(tmp: str, budget: int = 8) -> Engine:
    eng = Engine(DataDir(Path(tmp) / "data"))
    eng.settings.save(eng.store, core_budget=budget)
    return eng.start()


def death_latency(quick: bool) -> Figure:
    runs = 5 if quick else 20
    ours: list[float] = []
    with temp_dir("death") as tmp:
        eng = _engine(tmp)
        try:
            for i in range(runs):
                job, _ = submit(eng.store, deck=str(write_deck(Path(tmp) / f"j{i}", "wall=60", 1.0)))
                eng.start_ready()
                pid = wait_for(lambda: eng.store.get_job(job.id).solver_pids, 30)[0]
                killed_at = time.time()
                os.kill(pid, signal.SIGKILL)
                wait_for(lambda: eng.store.get_job(job.id).status.is_final, 10, poll=0.001)
                settled_at = eng.store.events(job.id)[-1]["time"]
                ours.append((settled_at - killed_at) * 1000)
        finally:
            eng.close()
    base = _poller_baseline(runs)
    return Figure("death of a solver -> job settled in the store", "ms", median(ours), median(base), "< 100", ours,
                  f"pid_exists() poll every {POLL_S:g} s", note=f"max {max(ours):.1f} ms over {runs} kills")


def _poller_baseline(runs: int) -> list[float]:
    """Victims reaped at once by a waiter of their own; a watchdog polls pid_exists every POLL_S."""
    victims = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(runs)]
    for v in victims:
        threading.Thread(target=v.wait, daemon=True).start()
    seen: dict[int, float] = {}

    def watchdog(pid: int) -> None:
        time.sleep(random.uniform(0, POLL_S))  # watchdogs run in no particular phase
        while pid not in seen:
            if not psutil.pid_exists(pid):
                seen[pid] = time.time()
                return
            time.sleep(POLL_S)

    for v in victims:
        threading.Thread(target=watchdog, args=(v.pid,), daemon=True).start()
    time.sleep(POLL_S * 1.2)
    killed = {}
    for v in victims:
        time.sleep(random.uniform(0, 0.25))
        killed[v.pid] = time.time()
        v.kill()
    wait_for(lambda: len(seen) == len(victims), POLL_S * 3, poll=0.05)
    return [(seen[pid] - killed[pid]) * 1000 for pid in killed]


def clock_offset() -> float:
    """psutil's create_time is boot time (whole seconds in /proc/stat) plus ticks: it can be off
    the wall clock by up to a second. Measure the offset on processes started right now."""
    offsets = []
    for _ in range(10):
        t0 = time.time()
        p = subprocess.Popen(["true"])
        ct = psutil.Process(p.pid).create_time()
        p.wait()
        offsets.append(t0 - ct)
    return median(offsets)


def discovery_latency(quick: bool) -> Figure:
    runs = 5 if quick else 20
    ours: list[float] = []
    baseline_seen: dict[tuple[int, float], float] = {}
    stop = threading.Event()

    def naive_poller() -> None:  # the tree polled every 0.5 s, in the same run
        while not stop.is_set():
            for p in psutil.process_iter(["cmdline", "create_time"]):
                cmd = p.info["cmdline"] or []
                if cmd[1:3] == ["-m", "dynagui.simulator"]:
                    baseline_seen.setdefault((p.pid, p.info["create_time"]), time.time())
            stop.wait(0.5)

    offset = clock_offset()
    poller = threading.Thread(target=naive_poller, daemon=True)
    poller.start()
    correct = 0
    base: list[float] = []
    with temp_dir("discovery") as tmp:
        eng = _engine(tmp)
        try:
            for i in range(runs):
                deck = write_deck(Path(tmp) / f"m{i}", "wall=60", 1.0)
                job, _ = submit(eng.store, deck=str(deck), solver="simulator-mpp", ncpu=2)
                eng.start_ready()
                job = wait_for(lambda: len((j := eng.store.get_job(job.id)).solver_pids) == 2 and j, 30)
                rows = eng.store._query("select pid, create_time, found_at from procs where job_id = ? and role = "
                                        "'solver'", [job.id])
                ours += [(r["found_at"] - r["create_time"] - offset) * 1000 for r in rows]
                ranks = set()
                for p in psutil.process_iter(["cmdline", "environ"]):
                    try:
                        if (p.info["environ"] or {}).get("DYNAGUI_JOB") == job.uid and \
                                (p.info["cmdline"] or [])[1:3] == ["-m", "dynagui.simulator"]:
                            ranks.add(p.pid)
                    except (psutil.Error, TypeError):
                        continue
                correct += ranks == set(job.solver_pids)
                wait_for(lambda: all((r["pid"], r["create_time"]) in baseline_seen for r in rows), 5, poll=0.05)
                base += [(baseline_seen[(r["pid"], r["create_time"])] - r["create_time"] - offset) * 1000 for r in rows]
                eng.stop(job.id, kill=True, wait=True)
                wait_for(lambda: eng.store.get_job(job.id).status.is_final, 15)
        finally:
            stop.set()
            eng.close()
    return Figure("rank process exists -> identity recorded (wrapper->mpiexec->proxy->ranks)", "ms", median(ours),
                  median(base), "< 100", ours, "process table polled every 0.5 s",
                  note=f"exact rank set recorded in {correct}/{runs} launches; process start times corrected by "
                       f"{offset * 1000:.0f} ms (psutil's boot-time rounding), 10 ms tick resolution")


FIGURES = [death_latency, discovery_latency]
