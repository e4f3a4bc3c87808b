"""The window, driven as a user drives it, on a real engine and real simulator processes (offscreen)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_deck

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon  # noqa: E402

from dynagui.core.jobs import JobStatus  # noqa: E402
from dynagui.core.paths import DataDir  # noqa: E402
from dynagui.core.store import Store  # noqa: E402
from dynagui.core.submit import Settings  # noqa: E402
from dynagui.gui.app import Application, ask_running_instance, instance_name  # noqa: E402
from dynagui.gui.jobmodel import Column, JobTableModel  # noqa: E402

TIMEOUT = 40_000


def _open(data_dir: DataDir, qtbot, **kw) -> Application:
    store = Store(data_dir.database)
    Settings().save(store, core_budget=4, health_interval=0.5, stop_grace=20.0)
    store.close()
    app = Application(data_dir, app=QApplication.instance(), **kw)
    app.start()
    qtbot.waitUntil(lambda: app.client.settings is not None, timeout=TIMEOUT)
    return app


@pytest.fixture
def gui(qtbot, data_dir: DataDir):
    app = _open(data_dir, qtbot)
    yield app
    app.close()


def _job(app: Application, job_id: int = 1):
    return app.window.model.job(job_id)


def _launch_from_dialog(app: Application, qtbot, deck: Path) -> None:
    dialog = app.window.open_launch_dialog()
    assert dialog is not None
    dialog.deck.setText("")
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    assert dialog.errors["deck"].text() == "choose a deck to run"
    dialog.memory.setText("lots")
    assert "20m" in dialog.errors["memory"].text()
    dialog.memory.setText("20m")
    dialog.deck.setText(str(deck))
    assert dialog.validate()
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)


def test_launch_from_the_dialog_runs_to_finished_with_a_notification(gui: Application, qtbot, deck_factory) -> None:
    w = gui.window
    assert w.empty_label.isVisible() is False or w.model.rowCount() == 0
    _launch_from_dialog(gui, qtbot, deck_factory("wall=2"))
    qtbot.waitUntil(lambda: _job(gui) is not None, timeout=TIMEOUT)
    seen = set()
    qtbot.waitUntil(lambda: seen.add(_job(gui).status) or _job(gui).status == JobStatus.FINISHED, timeout=TIMEOUT)
    assert JobStatus.RUNNING in seen or JobStatus.STARTING in seen
    qtbot.waitUntil(lambda: _job(gui).progress == 1.0, timeout=TIMEOUT)
    assert w.notifier.last_message is not None and "finished" in w.notifier.last_message[1]
    if not w.notifier.has_tray:  # offscreen: the status bar is the fallback
        assert "finished" in w.statusBar().currentMessage()
    assert w.model.data(w.model.index(0, 2)) == "finished"


@pytest.mark.qt_log_ignore("systemTrayWindowChanged")  # offscreen has no tray to talk to
def test_tray_branch_shows_the_message(monkeypatch, qtbot, data_dir: DataDir, deck_factory) -> None:
    shown = []
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "supportsMessages", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda self, *a: shown.append(a))
    app = _open(data_dir, qtbot)
    try:
        assert app.window.notifier.has_tray
        app.client.requestSubmit.emit({"deck": str(deck_factory("wall=1"))})
        qtbot.waitUntil(lambda: bool(shown) and "finished" in shown[-1][1], timeout=TIMEOUT)
        clicked = []
        app.window.notifier.jobClicked.connect(clicked.append)
        app.window.notifier.tray.messageClicked.emit()
        assert clicked == [1] and app.window.selected_job().id == 1
    finally:
        app.close()


def _context_action(app: Application, name: str):
    menu = app.window.actions.context_menu(app.window)
    return next(a for a in menu.actions() if a.objectName() == name)


def test_stop_from_the_context_menu_and_kill(gui: Application, qtbot, deck_factory, monkeypatch) -> None:
    deck = deck_factory("wall=60", end_time=1.0)
    gui.client.requestSubmit.emit({"deck": str(deck)})
    qtbot.waitUntil(lambda: _job(gui) is not None and (_job(gui).progress or 0) > 0, timeout=TIMEOUT)
    gui.window.select_job(1)
    stop = _context_action(gui, "stop")
    assert stop.isEnabled()
    stop.trigger()
    qtbot.waitUntil(lambda: _job(gui).status == JobStatus.STOPPED, timeout=TIMEOUT)
    assert "restart dump" in _job(gui).reason and (deck.parent / "d3dump01").exists()

    gui.client.requestSubmit.emit({"deck": str(deck_factory("wall=60", end_time=1.0))})
    qtbot.waitUntil(lambda: _job(gui, 2) is not None and _job(gui, 2).status == JobStatus.RUNNING, timeout=TIMEOUT)
    gui.window.select_job(2)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    _context_action(gui, "kill").trigger()
    qtbot.waitUntil(lambda: _job(gui, 2).status == JobStatus.STOPPED, timeout=10_000)
    assert "terminated" in _job(gui, 2).reason or "killed" in _job(gui, 2).reason


def test_ghost_appears_and_is_killed_from_the_panel(gui: Application, qtbot, deck_factory, tmp_path: Path,
                                                    monkeypatch) -> None:
    gui.client.requestSubmit.emit({"deck": str(deck_factory("wall=0.5"))})
    qtbot.waitUntil(lambda: _job(gui) is not None and _job(gui).status == JobStatus.FINISHED, timeout=TIMEOUT)
    deck = deck_factory("wall=60", end_time=1.0, folder="ghost")
    ghost = subprocess.Popen([sys.executable, "-m", "dynagui.simulator", f"i={deck}"], cwd=deck.parent,
                             env={**os.environ, "DYNAGUI_JOB": _job(gui).uid}, stdout=subprocess.DEVNULL)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        panel = gui.window.ghost_panel
        qtbot.waitUntil(lambda: [s.identity.pid for s in panel.model.suspects()] == [ghost.pid], timeout=TIMEOUT)
        assert gui.window.tabs.tabText(gui.window.ghost_tab) == "Ghosts (1)"
        assert "finished" in panel.model.suspects()[0].why
        panel.view.selectRow(0)
        monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
        assert panel.confirm_kill(panel.selected())
        qtbot.waitUntil(lambda: ghost.poll() is not None, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: panel.model.suspects() == [], timeout=TIMEOUT)
        assert bystander.poll() is None
    finally:
        for p in (ghost, bystander):
            p.kill()
            p.wait()


def test_reopening_the_application_reattaches_a_running_job(qtbot, data_dir: DataDir, deck_factory) -> None:
    app = _open(data_dir, qtbot)
    app.client.requestSubmit.emit({"deck": str(deck_factory("wall=6", end_time=0.02))})
    qtbot.waitUntil(lambda: _job(app) is not None and _job(app).status == JobStatus.RUNNING, timeout=TIMEOUT)
    pid = _job(app).solver_pids[0] if _job(app).solver_pids else None
    app.close()  # quitting never stops solvers
    assert pid is None or psutil_alive(pid)
    again = _open(data_dir, qtbot)
    try:
        qtbot.waitUntil(lambda: _job(again) is not None, timeout=TIMEOUT)
        assert _job(again).status in (JobStatus.RUNNING, JobStatus.FINISHED)
        qtbot.waitUntil(lambda: _job(again).status == JobStatus.FINISHED, timeout=TIMEOUT)
        assert _job(again).progress == 1.0
    finally:
        again.close()


def psutil_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_second_instance_brings_the_first_forward(gui: Application) -> None:
    assert ask_running_instance(instance_name(gui.data_dir))


def test_dropping_decks_opens_the_dialog_prefilled(gui: Application, qtbot, tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "drop", name="sled.k")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(deck))])
    event = QDropEvent(QPoint(10, 10).toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    gui.window.dropEvent(event)
    dialog = gui.window.findChild(type(gui.window.open_launch_dialog()), "launchDialog")
    dialogs = [d for d in gui.window.findChildren(type(dialog)) if d.deck.text() == str(deck)]
    assert dialogs and dialogs[0].validate()
    for d in gui.window.findChildren(type(dialog)):
        d.reject()


def test_filter_and_search(gui: Application, qtbot, deck_factory) -> None:
    gui.client.requestSubmit.emit({"deck": str(deck_factory("wall=0.5 error_at=0"))})
    gui.client.requestSubmit.emit({"deck": str(deck_factory("wall=0.5"))})
    qtbot.waitUntil(lambda: len(gui.window.model.jobs()) == 2 and all(j.status.is_final for j in gui.window.model.jobs()),
                    timeout=TIMEOUT)
    proxy = gui.window.proxy
    assert proxy.rowCount() == 2
    gui.window.status_filter.setCurrentIndex(gui.window.status_filter.findData("failed"))
    assert proxy.rowCount() == 1
    gui.window.status_filter.setCurrentIndex(0)
    gui.window.search.setText("KEY+141")
    assert proxy.rowCount() == 1


def test_job_model_contract(qtmodeltester, data_dir: DataDir, deck_factory) -> None:
    store = Store(data_dir.database)
    from dynagui.core.submit import submit

    jobs = [submit(store, deck=str(deck_factory("wall=1")))[0] for _ in range(5)]
    model = JobTableModel()
    model.reset_jobs(jobs)
    qtmodeltester.check(model)
    model.upsert(store.transition(jobs[0].id, JobStatus.STARTING, "go"))
    model.apply_progress(jobs[0].id, {"progress": 0.5, "sim_time": 0.005, "end_time": 0.01})
    model.flush_progress()
    assert model.job(jobs[0].id).progress == 0.5
    model.remove(jobs[1].id)
    qtmodeltester.check(model)
    store.close()


def test_elapsed_cells_refresh_once_a_second_without_walking_the_history(data_dir: DataDir, deck_factory) -> None:
    store = Store(data_dir.database)
    from dynagui.core.submit import submit

    jobs = [submit(store, deck=str(deck_factory("wall=1")))[0] for _ in range(4)]
    store.close()
    model = JobTableModel()
    model.reset_jobs(jobs)
    changed: list[tuple[int, int, int]] = []
    model.dataChanged.connect(lambda tl, br, *_: changed.append((tl.row(), tl.column(), br.column())))
    running = dataclasses.replace(jobs[0], status=JobStatus.RUNNING, started_at=time.time() - 100)
    model.upsert(running)
    assert [j.id for j in model.active_jobs()] == [running.id] and model.queued_count() == 3
    row = model.row_of(running.id)
    changed.clear()
    model.tick_elapsed()  # never shown yet: refreshed
    assert changed == [(row, Column.ELAPSED, Column.ELAPSED)]
    assert model.index(row, Column.ELAPSED).data() == "1 min 40 s"
    changed.clear()
    model.tick_elapsed()  # refreshed less than a second ago: left alone
    model.apply_progress(running.id, {"progress": 0.5})
    model.flush_progress()  # the progress cells and Elapsed, together
    assert changed == [(row, Column.PROGRESS, Column.DT), (row, Column.ELAPSED, Column.ELAPSED)]
    changed.clear()
    model.upsert(dataclasses.replace(running, status=JobStatus.FINISHED, ended_at=time.time()))
    assert model.active_jobs() == [] and model.queued_count() == 3
    changed.clear()
    model.tick_elapsed()
    assert changed == []


def _wait_samples(app: Application, qtbot, job_id: int, n: int) -> None:
    qtbot.waitUntil(lambda: job_id in app.window.plots.series and len(app.window.plots.series[job_id].wall) >= n,
                    timeout=TIMEOUT)


def test_curves_grow_while_running_and_survive_a_restart(qtbot, data_dir: DataDir, deck_factory) -> None:
    app = _open(data_dir, qtbot)
    try:
        app.client.requestSubmit.emit({"deck": str(deck_factory("wall=5", end_time=0.02))})
        qtbot.waitUntil(lambda: _job(app) is not None and _job(app).status == JobStatus.RUNNING, timeout=TIMEOUT)
        app.window.select_job(1)
        app.window.show_plots()
        _wait_samples(app, qtbot, 1, 2)
        first = len(app.window.plots.series[1].wall)
        curve = app.window.plots.curves[1]["progress"]
        _wait_samples(app, qtbot, 1, first + 2)  # grows while it runs
        assert len(curve.getData()[0]) >= first + 2
        qtbot.waitUntil(lambda: _job(app).status == JobStatus.FINISHED, timeout=TIMEOUT)
    finally:
        app.close()
    again = _open(data_dir, qtbot)
    try:
        qtbot.waitUntil(lambda: _job(again) is not None, timeout=TIMEOUT)
        again.window.select_job(1)
        again.window.show_plots()
        _wait_samples(again, qtbot, 1, 3)
        s = again.window.plots.series[1]
        assert s.sim_time[0] < 0.002 and s.sim_time[-1] == pytest.approx(0.02, rel=1e-3)  # the whole history
        xs, _ys = again.window.plots.curves[1]["progress"].getData()
        assert len(xs) == len(s.wall)
    finally:
        again.close()


def test_timestep_collapse_shows_its_marker(gui: Application, qtbot, deck_factory) -> None:
    gui.client.requestSubmit.emit({"deck": str(deck_factory("wall=2 dt_drop_at=0.4", end_time=0.02))})
    qtbot.waitUntil(lambda: _job(gui) is not None and _job(gui).status.is_final, timeout=TIMEOUT)
    gui.window.select_job(1)
    gui.window.show_plots("Timestep")
    qtbot.waitUntil(lambda: 1 in gui.window.plots.series and len(gui.window.plots.series[1].collapses) == 1,
                    timeout=TIMEOUT)
    xs, _ys = gui.window.plots.curves[1]["collapse"].getData()
    assert len(xs) == 1 and 0.007 < xs[0] < 0.01  # at 40 % of 0.02
    assert len(gui.window.plots.curves[1]["plots"].getData()[0]) >= 5  # d3plot markers


def test_the_qt_binding_does_not_leak_references_through_pyqtgraph(qtbot) -> None:
    """PySide6 6.12.0 loses a reference to True on every repaint until Python aborts (see pyproject.toml)."""
    import numpy as np
    import pyqtgraph as pg

    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    widget.show()
    curve = widget.addPlot().plot([], [])
    QApplication.processEvents()
    before = sys.getrefcount(True)
    for i in range(40):
        curve.setData(np.arange(100.0), np.arange(100.0) * i)
        QApplication.processEvents()
    assert sys.getrefcount(True) >= before - 20


def test_user_errors_become_a_dialog_naming_the_problem(gui: Application, qtbot, monkeypatch, tmp_path: Path) -> None:
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda _p, title, text: shown.append((title, text))))
    gui.client.requestSubmit.emit({"deck": str(tmp_path / "missing.k")})
    qtbot.waitUntil(lambda: bool(shown), timeout=TIMEOUT)
    assert shown[0][0] == "Launch failed" and "does not exist" in shown[0][1]
    assert gui.window.model.rowCount() == 0


def test_settings_dialog_saves_settings_and_profiles(gui: Application, qtbot, tmp_path: Path) -> None:
    from dynagui.core.solver import SolverProfile
    from dynagui.gui.settingsdialog import SettingsDialog

    w = gui.window
    w.open_settings()
    dialog = w.findChild(SettingsDialog, "settingsDialog")
    dialog.budget.setValue(6)
    dialog.grace.setValue(12)
    exe = tmp_path / "ls-dyna_smp_d_R14"
    exe.write_text("")
    dialog.profiles["r14"] = SolverProfile("r14", str(exe))
    dialog.accept()
    qtbot.waitUntil(lambda: gui.client.settings.core_budget == 6 and "r14" in gui.client.profiles, timeout=TIMEOUT)
    assert gui.client.settings.stop_grace == 12
    store = Store(gui.data_dir.database)
    try:
        assert store.get_setting("core_budget") == 6 and "r14" in store.solver_profiles()
    finally:
        store.close()


def test_csv_export_of_a_jobs_samples(gui: Application, qtbot, deck_factory, tmp_path: Path) -> None:
    gui.client.requestSubmit.emit({"deck": str(deck_factory("wall=1"))})
    qtbot.waitUntil(lambda: _job(gui) is not None and _job(gui).status == JobStatus.FINISHED, timeout=TIMEOUT)
    out = tmp_path / "samples.csv"
    # (not qtbot.waitSignal: the worker emits in its own thread, and the blocker would stop
    # its timer from there)
    gui.window.plots.requestCsv.emit(str(out), [1])
    qtbot.waitUntil(lambda: out.exists() and out.read_text().endswith("\n") and len(out.read_text()) > 200,
                    timeout=TIMEOUT)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("job_id,wall,sim_time,dt") and len(lines) > 3


@pytest.mark.qt_log_ignore("systemTrayWindowChanged")
def test_closing_with_running_jobs_keeps_dynagui_in_the_tray(monkeypatch, qtbot, data_dir: DataDir,
                                                           deck_factory) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "supportsMessages", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda self, *a: None)
    app = _open(data_dir, qtbot)
    try:
        app.client.requestSubmit.emit({"deck": str(deck_factory("wall=60", end_time=1.0))})
        qtbot.waitUntil(lambda: _job(app) is not None and _job(app).status == JobStatus.RUNNING, timeout=TIMEOUT)
        app.window.close()
        assert not app.window.isVisible() and not app.window.quitting
        assert "keeps watching" in app.window.notifier.last_message[0]
        app.client.requestStop.emit(1, True)
        qtbot.waitUntil(lambda: _job(app).status.is_final, timeout=TIMEOUT)
    finally:
        app.close()


def test_model_sorts_and_keeps_new_jobs_in_order(qtmodeltester, data_dir: DataDir, deck_factory) -> None:
    from dynagui.core.submit import submit
    from dynagui.gui.jobmodel import Column, JobRole

    store = Store(data_dir.database)
    try:
        jobs = [submit(store, deck=str(deck_factory("wall=1", folder=name)))[0] for name in ("b", "c", "a")]
        model = JobTableModel()
        model.reset_jobs(jobs)
        ids = lambda: [model.index(r, 0).data(JobRole).id for r in range(model.rowCount())]  # noqa: E731
        assert ids() == [3, 2, 1]  # newest first by default
        model.sort(Column.WORKDIR, Qt.SortOrder.AscendingOrder)
        assert [Path(model.index(r, 0).data(JobRole).workdir).name for r in range(3)] == ["a", "b", "c"]
        model.sort(Column.ID, Qt.SortOrder.DescendingOrder)
        model.upsert(submit(store, deck=str(deck_factory("wall=1", folder="d")))[0])
        assert ids() == [4, 3, 2, 1]
        qtmodeltester.check(model)
    finally:
        store.close()


def test_status_line_counts_seconds_only_once_a_health_pass_is_late(qtbot) -> None:
    from PySide6.QtWidgets import QStatusBar

    from dynagui.gui.statusline import StatusLine

    bar = QStatusBar()
    qtbot.addWidget(bar)
    line = StatusLine(bar)
    assert line.health_age(5.0) == "pending"
    line.last_health_at = time.time() - 4
    assert line.health_age(5.0) == "just now"  # on time: nothing changes, nothing repaints
    line.last_health_at = time.time() - 20
    assert line.health_age(5.0) == "20 s ago"  # late: the user sees the count grow
    line.show(2, 8, 1, 3, 5.0)
    assert (line.cores.text(), line.counts.text(), line.health.text()) == (
        "cores 2/8", "1 running · 3 queued", "health 20 s ago")


QUIT_AFTER_PLOTS = """
import sys
from pathlib import Path
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from dynagui.core.paths import DataDir
from dynagui.gui.app import Application
app = QApplication([])
application = Application(DataDir(Path(sys.argv[1])), app=app)
window = application.start()
loop = QEventLoop()
QTimer.singleShot(300, loop.quit)
loop.exec()
for title in ("Timestep", "Cores", "Progress"):  # built and shown, then quit before any layout ran
    window.show_plots(title)
application.close()
print("closed")
"""


def test_quitting_right_after_opening_the_plots_leaves_no_error_at_exit(tmp_path: Path) -> None:
    # pyqtgraph's pending layouts used to run in Qt's teardown and raise there (stderr at exit)
    r = subprocess.run([sys.executable, "-c", QUIT_AFTER_PLOTS, str(tmp_path / "data")], capture_output=True,
                       text=True, timeout=60, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0 and "closed" in r.stdout, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "Error" not in r.stderr, r.stderr[-2000:]


def test_plot_tabs_are_built_on_first_open_in_their_placeholders_places(gui: Application) -> None:
    tabs = gui.window.tabs
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    assert titles == ["Log", "Ghosts", "Progress", "Timestep", "Cores"]
    assert gui.window.plot_host._panels is None  # nothing is built before a plot tab is opened
    gui.window.show_plots("Timestep")
    plots = gui.window.plots
    assert [tabs.tabText(i) for i in range(tabs.count())] == titles
    assert tabs.currentWidget() is plots.timestep and tabs.currentIndex() == titles.index("Timestep")
    assert [tabs.widget(titles.index(t)) for t in ("Progress", "Timestep", "Cores")] == [
        plots.progress, plots.timestep, plots.cores]
    tabs.setCurrentWidget(plots.cores)
    assert plots.cores.isVisible() and not plots.progress.isVisible()
