"""Screenshots for the README, taken from a real X window under Xvfb.

    python packaging/screenshots.py [--out resources/screenshots]

Starts Xvfb when no DISPLAY is set, runs the application on a temporary demo data
folder with the built-in simulator, launches sample decks and grabs the screen.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start_xvfb() -> subprocess.Popen | None:
    if os.environ.get("DISPLAY"):
        return None
    if shutil.which("Xvfb") is None:
        sys.exit("Xvfb is not installed (apt-get install xvfb libxcb-icccm4 libxcb-keysyms1)")
    proc = subprocess.Popen(["Xvfb", ":97", "-screen", "0", "1400x900x24", "-nolisten", "tcp"])
    os.environ["DISPLAY"] = ":97"
    time.sleep(1.0)  # Xvfb gives no readiness signal; this is a tool, not a test
    return proc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "resources" / "screenshots"))
    parser.add_argument("--seconds", type=float, default=9.0)
    args = parser.parse_args()
    xvfb = start_xvfb()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from dynagui.core.paths import DataDir
    from dynagui.gui.app import Application

    def spin(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = DataDir(Path(tmp) / "demo").ensure()
        app = QApplication([])
        application = Application(data_dir, demo=True, app=app)
        window = application.start()
        window.resize(1360, 860)
        window.move(20, 20)
        spin(1.0)
        decks = {d.stem: d for d in (data_dir.root / "decks").glob("*/*.k")}
        plan = [("input_error", "simulator", 1), ("long_run", "simulator", 1), ("crash", "simulator", 1),
                ("mpp_run", "simulator-mpp", 2), ("timestep_collapse", "simulator", 1), ("short_normal", "simulator", 1)]
        for stem, solver, ncpu in plan:
            application.client.requestSubmit.emit({"deck": str(decks[stem]), "solver": solver, "ncpu": ncpu})
        spin(args.seconds)
        window.select_job(4)
        spin(1.5)
        app.primaryScreen().grabWindow(0).copy(window.frameGeometry().adjusted(0, 0, 20, 20)).save(
            str(out / "main-window.png"))
        if hasattr(window, "show_plots"):
            from PySide6.QtCore import QItemSelectionModel

            for job_id in (2, 4, 5):  # several jobs overlay in the plots
                row = window.proxy.mapFromSource(window.model.index(window.model.row_of(job_id), 0)).row()
                window.table.selectionModel().select(
                    window.proxy.index(row, 0),
                    QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
            window.show_plots()
            spin(1.5)
            app.primaryScreen().grabWindow(0).copy(window.frameGeometry().adjusted(0, 0, 20, 20)).save(
                str(out / "plots.png"))
        for job in window.model.jobs():
            if job.status.is_active or job.status.value == "queued":
                application.client.requestStop.emit(job.id, True)
        spin(3.0)
        application.close()
    if xvfb is not None:
        xvfb.terminate()
        xvfb.wait()
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
