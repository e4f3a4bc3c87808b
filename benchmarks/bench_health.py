"""Figures 3 and 4: the cost of a health pass, and what watching costs the workstation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from benchmarks.common import REPO, Figure, median, temp_dir, wait_for, write_deck
from dynagui.core.engine import Engine
from dynagui.core.proctrack import process_cpu_seconds
from dynagui.core.paths import DataDir
from dynagui.core.store import Store
from dynagui.core.submit import Settings, submit


def health_pass_cost(quick: bool) -> Figure:
    passes = 10 if quick else 30
    foreign = [subprocess.Popen(["sleep", "900"]) for _ in range(300)]
    try:
        with temp_dir("health") as tmp:
            eng = Engine(DataDir(Path(tmp) / "data"), health_in_loop=False)
            eng.settings.save(eng.store, core_budget=16)
            eng.start()
            try:
                for i in range(16):
                    submit(eng.store, deck=str(write_deck(Path(tmp) / f"j{i}", "wall=600", 1.0)))
                eng.start_ready()
                wait_for(lambda: sum(1 for j in eng.store.list_jobs() if j.solver_pids) == 16, 60, poll=0.05)
                t0 = time.thread_time()
                eng.health_check()
                first = (time.thread_time() - t0) * 1000
                ours = []
                for _ in range(passes):
                    t0 = time.thread_time()
                    eng.health_check()
                    ours.append((time.thread_time() - t0) * 1000)
                base = []
                for _ in range(max(3, passes // 3)):
                    t0 = time.thread_time()
                    for p in psutil.process_iter(["name", "create_time", "cmdline", "environ"]):
                        (p.info["environ"] or {}).get("DYNAGUI_JOB")
                    base.append((time.thread_time() - t0) * 1000)
                processes = len(psutil.pids())
                for job in eng.store.list_jobs():
                    eng.stop(job.id, kill=True)
                wait_for(lambda: all(j.status.is_final for j in eng.store.list_jobs()), 60, poll=0.05)
            finally:
                eng.close()
    finally:
        for p in foreign:
            p.kill()
        for p in foreign:
            p.wait()
    return Figure("health pass in steady state (300 foreign processes, 16 jobs)", "ms CPU", median(ours),
                  median(base), "< 5", ours, "read every process's environment each pass",
                  note=f"{processes} processes on the machine; the first pass, which reads everything once, "
                       f"took {first:.1f} ms")


def _start_jobs(data_dir: DataDir, tmp: str, n: int, wall: float) -> None:
    store = Store(data_dir.database)
    try:
        Settings().save(store, core_budget=n)
        for i in range(n):
            submit(store, deck=str(write_deck(Path(tmp) / f"w{i}", f"wall={wall}", 1.0)))
    finally:
        store.close()


def _running_jobs(data_dir: DataDir, n: int) -> bool:
    store = Store(data_dir.database)
    try:
        return sum(1 for j in store.list_jobs() if j.solver_pids) >= n
    finally:
        store.close()


def _job_processes(data_dir: DataDir) -> tuple[list[psutil.Process], list[psutil.Process]]:
    store = Store(data_dir.database)
    try:
        shepherds, solvers = [], []
        for job in store.list_jobs():
            for rec in job.procs:
                try:
                    p = psutil.Process(rec.identity.pid)
                except psutil.Error:
                    continue
                (shepherds if rec.role == "shepherd" else solvers).append(p)
        return shepherds, solvers
    finally:
        store.close()


def _kill_all(data_dir: DataDir) -> None:
    shepherds, solvers = _job_processes(data_dir)
    for p in solvers:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(solvers + shepherds, timeout=20)


def monitoring_overhead(quick: bool) -> list[Figure]:
    window = 15.0 if quick else 60.0
    figures = []
    for kind in ("engine", "gui"):
        with temp_dir(f"overhead-{kind}") as tmp:
            data_dir = DataDir(Path(tmp) / "data").ensure()
            _start_jobs(data_dir, tmp, 8, window + 40)
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
            if kind == "engine":
                cmd = [sys.executable, "-m", "dynagui", "--data-dir", str(data_dir.root), "serve"]
            else:
                cmd = [sys.executable, "-m", "benchmarks.gui_probe", "idle", "--data-dir", str(data_dir.root),
                       "--seconds", str(window + 20)]
            watcher = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                wait_for(lambda: _running_jobs(data_dir, 8), 60, poll=0.2)
                time.sleep(3.0)  # let start-up work (first reads, first pass) finish before measuring
                me = psutil.Process(watcher.pid)
                shepherds, solvers = _job_processes(data_dir)
                c0, s0, j0, t0 = process_cpu_seconds([me]), process_cpu_seconds(shepherds), process_cpu_seconds(solvers), time.monotonic()
                time.sleep(window)
                c1, s1, j1, t1 = process_cpu_seconds([me]), process_cpu_seconds(shepherds), process_cpu_seconds(solvers), time.monotonic()
            finally:
                watcher.send_signal(signal.SIGTERM)
                try:
                    watcher.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    watcher.kill()
                watcher.communicate()
                _kill_all(data_dir)
            span = t1 - t0
            ours = 100 * (c1 - c0) / span
            figures.append(Figure(
                f"{'engine (headless serve)' if kind == 'engine' else 'GUI process (engine inside)'} CPU while "
                f"watching 8 running jobs", "% of one core", ours, 100 * (j1 - j0) / span, "< 0.5", [ours],
                "the 8 simulator jobs themselves",
                note=f"{window:g} s window; the 8 shepherds together used {100 * (s1 - s0) / span:.2f} %"))
    return figures


FIGURES = [health_pass_cost, monitoring_overhead]


def _selftest() -> None:  # pragma: no cover - manual use
    print(json.dumps([f.as_dict() for f in monitoring_overhead(True)], indent=1))


if __name__ == "__main__":
    _selftest()
