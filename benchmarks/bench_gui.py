"""Figure 6 (and issue 5's plot figure): start-up with a long history, stalls while jobs stream, RSS, 1M samples."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, Figure, temp_dir, write_deck
from dynagui.core.paths import DataDir
from dynagui.core.store import Store
from dynagui.core.submit import Settings


def _probe(mode: str, data_dir: DataDir, timeout: float = 300, **kw: object) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.gui_probe", mode, "--data-dir", str(data_dir.root)]
    for key, value in kw.items():
        cmd += [f"--{key}", str(value)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"gui probe {mode} failed: {r.stderr[-2000:]}")
    return json.loads(lines[-1])


def _history(data_dir: DataDir, n: int) -> None:
    store = Store(data_dir.database)
    try:
        now = time.time()
        rows = [{"uid": f"{store.marker_tag}-{secrets.token_hex(12)}", "deck": f"/runs/case{i % 97}/model_{i}.k",
                 "workdir": f"/runs/case{i % 97}", "solver": "simulator", "ncpu": 1 + i % 4,
                 "status": ("finished", "failed", "stopped")[i % 3], "reason": "normal termination",
                 "submitted_at": now - 86400 + i, "started_at": now - 86400 + i, "ended_at": now - 80000 + i,
                 "progress": 1.0, "sim_time": 0.02, "end_time": 0.02, "cycle": 20000, "dt": 1e-6, "attempt": 1,
                 "queue_pos": i} for i in range(n)]
        with store.db.atomic():
            store.db["jobs"].insert_all(rows, batch_size=5000)
    finally:
        store.close()


def _stream_figure(jobs: int, seconds: float) -> Figure:
    """The longest gap between the ticks of a 10 ms timer while `jobs` simulator jobs stream."""
    with temp_dir("gui-stream") as tmp:
        data_dir = DataDir(Path(tmp) / "d").ensure()
        store = Store(data_dir.database)
        Settings().save(store, core_budget=jobs, health_interval=5.0)
        store.close()
        decks = [str(write_deck(Path(tmp) / f"s{i}", f"wall={seconds + 60}", 1.0)) for i in range(jobs)]
        for deck in decks:  # ~10 progress lines a second per job
            text = Path(deck).read_text().replace("\n       0.1\n", "\n    0.0015\n")
            Path(deck).write_text(text)
        stream = _probe("stream", data_dir, jobs=jobs, seconds=seconds, decks=os.pathsep.join(decks))
    return Figure(f"longest event-loop stall while {jobs} jobs stream output (plots shown)", "ms",
                  stream["max_stall_ms"], stream["bare"]["max_stall_ms"], "< 100", [stream["max_stall_ms"]],
                  "an empty Qt event loop in another process, during the same window",
                  note=f"{stream['running']} running during a {seconds:g} s window; 99th percentile tick "
                       f"{stream['p99_ms']:.0f} ms (10 ms timer); opening the plots the first time (pyqtgraph "
                       f"loads, one job's curves drawn) took {stream['first_plot_s'] * 1000:.0f} ms before it")


def gui_figures(quick: bool) -> list[Figure]:
    n_hist = 2000 if quick else 10_000
    out = []
    with temp_dir("gui-empty") as tmp:
        empty = _probe("history", DataDir(Path(tmp) / "d").ensure(), jobs=0)
    with temp_dir("gui-history") as tmp:
        data_dir = DataDir(Path(tmp) / "d").ensure()
        _history(data_dir, n_hist)
        full = _probe("history", data_dir, jobs=n_hist)
    out.append(Figure(f"start to usable window with {n_hist} jobs of history", "s", full["usable_s"],
                      empty["usable_s"], "< 1", [full["usable_s"]], "the same window with an empty history",
                      note=f"scrolling the whole table: longest stall {full['scroll_max_stall_ms']:.0f} ms"))
    out.append(Figure(f"GUI idle RSS with {n_hist} jobs of history", "MB", full["rss_mb"], empty["rss_mb"], "< 200",
                      [full["rss_mb"]], "empty history"))
    for jobs, seconds in ([(8, 5.0)] if quick else [(8, 20.0), (32, 20.0)]):
        out.append(_stream_figure(jobs, seconds))
    n_samples = 200_000 if quick else 1_000_000
    with temp_dir("gui-plot") as tmp:
        data_dir = DataDir(Path(tmp) / "d").ensure()
        store = Store(data_dir.database)
        job_row = {"uid": f"{store.marker_tag}-{secrets.token_hex(12)}", "deck": "/runs/long.k", "workdir": "/runs",
                   "solver": "simulator", "ncpu": 1, "status": "finished", "end_time": 1.0, "attempt": 1}
        job = store.insert_job(job_row)
        t = time.time() - n_samples
        for start in range(0, n_samples, 50_000):  # through the store, as the engine writes them
            store.add_samples(job.id, [{"wall": t + i, "sim_time": i / n_samples, "dt": 1e-6 * (1 + (i % 7) / 10),
                                        "cycle": i * 10, "event": None} for i in range(start, start + 50_000)])
        store.close()
        plot = _probe("plot1m", data_dir, jobs=n_samples)
    out.append(Figure(f"select a job with {n_samples} samples -> curves drawn", "s", plot["render_s"],
                      plot["naive_render_s"], "< 0.5", [plot["render_s"]],
                      f"read all {n_samples} samples and plot them without thinning or downsampling",
                      note=f"includes reading the samples from SQLite in the worker thread; {plot['points']} of "
                           f"them plotted (every 2**k-th beyond 50,000, plus every event)"))
    return out


FIGURES = [gui_figures]
