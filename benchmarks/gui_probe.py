"""The GUI side of the benchmarks, run as its own process (offscreen) and reporting JSON on stdout.

    python -m benchmarks.gui_probe idle|history|stream|plot1m --data-dir DIR [--seconds S] [--jobs N]

With DYNAGUI_PROBE_PROFILE=FILE the streaming window is profiled (GUI thread) into FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STARTED = time.monotonic()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from dynagui.core.paths import DataDir  # noqa: E402
from dynagui.gui.app import Application  # noqa: E402


def spin(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def spin_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        spin(0.01)
    return False


class StallMeter:
    """A 10 ms timer; the largest gap between its ticks is the longest event-loop stall."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        self.gaps.append(self.clock.restart())

    def stop(self) -> dict:
        self.timer.stop()
        gaps = sorted(self.gaps) or [0.0]
        return {"max_stall_ms": max(gaps[1:] or gaps), "p99_ms": gaps[int(0.99 * (len(gaps) - 1))], "ticks": len(gaps)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["idle", "history", "stream", "plot1m", "bare"])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--jobs", type=int, default=0)
    p.add_argument("--decks", default="")
    args = p.parse_args()
    app = QApplication([])
    if args.mode == "bare":  # an empty event loop: what the machine itself does to any program's ticks
        meter = StallMeter()
        meter.start()
        spin(args.seconds)
        sys.stdout.write(json.dumps(meter.stop()) + "\n")
        return 0
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    data_dir = DataDir(Path(args.data_dir)).ensure()
    application = Application(data_dir, app=app)
    window = application.start()
    out: dict = {}
    if args.mode == "history":
        ok = spin_until(lambda: window.model.rowCount() >= args.jobs and application.client.settings is not None, 60)
        spin(0)  # one more pass of the event loop: the table has painted its rows
        out["usable_s"] = time.monotonic() - STARTED if ok else None
        meter = StallMeter()
        meter.start()
        for i in range(0, max(1, window.model.rowCount()), 500):  # scroll through the history
            window.table.scrollTo(window.proxy.index(min(i, window.proxy.rowCount() - 1), 0))
            spin(0.005)
        out.update({f"scroll_{k}": v for k, v in meter.stop().items()})
        spin(2.0)
        out["rss_mb"] = psutil.Process().memory_info().rss / 1e6
    elif args.mode == "stream":
        spin_until(lambda: application.client.settings is not None, 30)
        for deck in args.decks.split(os.pathsep):
            application.client.requestSubmit.emit({"deck": deck})
        spin_until(lambda: sum(1 for j in window.model.jobs() if j.status.value == "running") >= args.jobs, 90)
        window.select_job(1)
        t0 = time.monotonic()
        window.show_plots()  # the first time: pyqtgraph loads and the panels are built
        spin_until(lambda: 1 in window.plots.series and window.plots.renders > 0, 30)
        window.plots.progress.grab()
        out["first_plot_s"] = time.monotonic() - t0
        spin(1.0)  # the steady state is measured, not the first paint
        bare = subprocess.Popen([sys.executable, "-m", "benchmarks.gui_probe", "bare", "--data-dir", args.data_dir,
                                 "--seconds", str(args.seconds)], stdout=subprocess.PIPE, text=True)
        meter = StallMeter()
        meter.start()
        if os.environ.get("DYNAGUI_PROBE_PROFILE"):
            import cProfile

            cProfile.runctx("spin(args.seconds)", globals(), locals(), os.environ["DYNAGUI_PROBE_PROFILE"])
        else:
            spin(args.seconds)
        out.update(meter.stop())
        bare_out, _ = bare.communicate(timeout=args.seconds + 60)
        out["bare"] = json.loads(bare_out.splitlines()[-1])
        out["running"] = sum(1 for j in window.model.jobs() if j.status.value == "running")
        for job in window.model.jobs():
            application.client.requestStop.emit(job.id, True)
        spin_until(lambda: all(j.status.is_final for j in window.model.jobs()), 60)
    elif args.mode == "plot1m":
        spin_until(lambda: window.model.rowCount() >= 1, 30)
        window.show_plots()
        t0 = time.monotonic()
        window.select_job(1)
        plots = window.plots
        def points() -> int:  # the data given to the curve (getData() is what is displayed)
            xs = plots.curves[1]["progress"].xData if 1 in plots.curves else None
            return 0 if xs is None else len(xs)

        spin_until(lambda: 1 in plots.series and points() == len(plots.series[1].wall) > 0, 60)
        plots.progress.grab()  # force the paint
        out["render_s"] = time.monotonic() - t0
        out["points"] = points()
        out["stored"] = args.jobs
        import numpy as np
        import pyqtgraph as pg

        from dynagui.core.store import Store

        # the naive way: read every sample of the job, plot them all (no thinning, no downsampling)
        naive = pg.PlotWidget()
        naive.show()
        t0 = time.monotonic()
        store = Store(data_dir.database)
        cols = store.sample_columns(1, max_points=10**12)
        store.close()
        naive.plot(np.asarray(cols["wall"], dtype=float), np.asarray(cols["sim_time"], dtype=float))
        naive.grab()
        out["naive_render_s"] = time.monotonic() - t0
        out["naive_points"] = len(cols["wall"])
        naive.close()
    else:
        # the application's own event loop, as a user runs it; the probe adds one timer
        check = QTimer()
        check.setInterval(500)
        check.timeout.connect(lambda: (stopping or time.monotonic() > deadline) and app.quit())
        deadline = time.monotonic() + args.seconds
        check.start()
        app.exec()
        out["rss_mb"] = psutil.Process().memory_info().rss / 1e6
    application.close()
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
