"""The main window: job table, log/ghost tabs, details, status bar, tray; wiring only."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHeaderView, QLabel, QLineEdit, QMainWindow, QMessageBox,
                               QSplitter, QTableView, QTabWidget, QToolButton)

from dynagui.core.health import HealthReport
from dynagui.core.jobs import Job, JobStatus
from dynagui.core.submit import DECK_SUFFIXES
from dynagui.gui.actions import JobActions
from dynagui.gui.bridge import EngineClient
from dynagui.gui.delegates import ProgressDelegate
from dynagui.gui.detailspanel import DetailsPanel
from dynagui.gui.ghostpanel import GhostPanel
from dynagui.gui.icons import icon
from dynagui.gui.jobdialogs import ask_end_time, ask_queued_changes, confirm_kill
from dynagui.gui.jobmodel import Column, JobFilterProxy, JobRole, JobTableModel
from dynagui.gui.launchdialog import LaunchDialog
from dynagui.gui.logpanel import LogPanel
from dynagui.gui.plothost import PlotHost
from dynagui.gui.statusline import StatusLine
from dynagui.gui.style import format_duration
from dynagui.gui.tray import Notifier

if TYPE_CHECKING:
    from dynagui.gui.plots import PlotPanels

EMPTY_HINT = ("No jobs yet.\n\nDrag a .k deck onto this window, or press Ctrl+N to launch one.{demo}")


class MainWindow(QMainWindow):
    def __init__(self, client: EngineClient, settings: QSettings, decks_dir: Path | None = None) -> None:
        super().__init__()
        self.client = client
        self.qsettings = settings
        self.decks_dir = decks_dir
        self.setWindowTitle("DynaGUI" + (" — demo" if decks_dir else ""))
        self.setWindowIcon(icon("dynagui"))
        self.setAcceptDrops(True)
        self.model = JobTableModel(self)
        self.proxy = JobFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.actions = JobActions(self)
        self.last_launch: dict = {}
        self.last_report: HealthReport | None = None
        self._known_ghosts: set = set()
        self._told_tray = False
        self.quitting = False
        self._build()
        self._connect()
        self.actions.update_for(None)
        self._health_timer = QTimer(self)
        self._health_timer.setObjectName("health-tick")
        self._health_timer.timeout.connect(self.client.requestHealthPass.emit)
        self._status_timer = QTimer(self)
        self._status_timer.setObjectName("status-clock")
        self._status_timer.setInterval(1000)
        self._status_timer.timeout.connect(self._update_status)
        self._status_timer.start()
        self._restore()

    # ----------------------------------------------------------------- build
    def _build(self) -> None:
        a = self.actions
        tb = self.addToolBar("Jobs")
        tb.setObjectName("jobsToolbar")
        tb.addAction(a.launch)
        tb.addAction(a.stop)
        tb.addAction(a.kill)
        sense = QToolButton(self)
        sense.setMenu(a.sense_menu)
        sense.setIcon(icon("sense"))
        sense.setText("Sense")
        sense.setToolTip(a.sense_menu.toolTip())
        sense.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.sense_button = sense
        tb.addWidget(sense)
        tb.addAction(a.folder)
        tb.addSeparator()
        tb.addAction(a.up)
        tb.addAction(a.down)
        tb.addSeparator()
        self.status_filter = QComboBox(self)
        self.status_filter.setObjectName("statusFilter")
        for label, key in (("All jobs", "all"), ("Queued and running", "active"), ("Ended", "ended"),
                           *((s.value.capitalize(), s.value) for s in JobStatus)):
            self.status_filter.addItem(label, key)
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search deck, folder, reason…")
        self.search.setClearButtonEnabled(True)
        self.search.setMaximumWidth(260)
        tb.addWidget(QLabel(" Show: "))
        tb.addWidget(self.status_filter)
        tb.addWidget(self.search)
        tb.addSeparator()
        tb.addAction(a.health)
        tb.addAction(a.settings)

        self.table = QTableView(self)
        self.table.setObjectName("jobTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.ID, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # several jobs overlay in plots
        self.table.setItemDelegateForColumn(Column.PROGRESS, ProgressDelegate(self.table))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setStretchLastSection(True)
        header.resizeSection(Column.ID, 48)
        header.resizeSection(Column.DECK, 170)
        header.resizeSection(Column.STATUS, 100)
        header.resizeSection(Column.PROGRESS, 260)
        header.resizeSection(Column.SIMTIME, 130)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.empty_label = QLabel(self.table.viewport())
        self.empty_label.setObjectName("emptyHint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: gray; font-size: 13pt")
        demo = f"\n\nSample decks for the built-in LS-DYNA simulator are in\n{self.decks_dir}" if self.decks_dir else ""
        self.empty_label.setText(EMPTY_HINT.format(demo=demo))

        self.log_panel = LogPanel(self)
        self.ghost_panel = GhostPanel(self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("bottomTabs")
        self.tabs.addTab(self.log_panel, "Log")
        self.ghost_tab = self.tabs.addTab(self.ghost_panel, icon("ghost"), "Ghosts")
        self.plot_host = PlotHost(self.client.worker.data_dir, self.tabs, self)
        self.details = DetailsPanel(self)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.tabs)
        bottom.addWidget(self.details)
        bottom.setSizes([700, 400])
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(bottom)
        self.splitter.setSizes([380, 300])
        self.setCentralWidget(self.splitter)

        self.status_line = StatusLine(self.statusBar())
        self.notifier = Notifier(self.statusBar(), self)

    def _connect(self) -> None:
        # Worker signals are emitted on engine threads: they go to bound methods of this
        # window (queued into the GUI thread), never to lambdas, which Qt would call directly
        # on the emitting thread.
        a, c, w = self.actions, self.client, self.client.worker
        w.started.connect(self._engine_started)
        w.startFailed.connect(self._engine_failed)
        w.jobChanged.connect(self._job_changed)
        w.jobsProgressed.connect(self._jobs_progressed)
        w.jobRemoved.connect(self.model.remove)
        w.jobStalled.connect(self._job_stalled)
        w.healthReported.connect(self._health_reported)
        w.actionFailed.connect(self._action_failed)
        w.submitted.connect(self._submitted)
        w.settingsChanged.connect(self._settings_changed)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.customContextMenuRequested.connect(self._table_menu)
        self.table.doubleClicked.connect(lambda _i: self._open_folder())
        self.status_filter.currentIndexChanged.connect(
            lambda _i: self.proxy.set_status_filter(self.status_filter.currentData()))
        self.search.textChanged.connect(self.proxy.set_text_filter)
        self.model.rowsInserted.connect(self._update_empty)
        self.model.rowsRemoved.connect(self._update_empty)
        self.model.modelReset.connect(self._update_empty)
        self.ghost_panel.killRequested.connect(c.requestKillSuspects.emit)
        self.ghost_panel.adoptRequested.connect(c.requestAdopt.emit)
        self.ghost_panel.countChanged.connect(self._ghost_count)
        self.notifier.jobClicked.connect(self.select_job)
        self.notifier.showRequested.connect(self.bring_to_front)
        self.notifier.quitRequested.connect(self.quit)
        a.launch.triggered.connect(lambda: self.open_launch_dialog())
        a.stop.triggered.connect(lambda: self._with_job(lambda j: c.requestStop.emit(j.id, False)))
        a.kill.triggered.connect(self._kill)
        for act, token in ((a.sw2, "sw2"), (a.sw3, "sw3"), (a.sw4, "sw4"), (a.swa, "swa")):
            act.triggered.connect(lambda _=False, t=token: self._with_job(lambda j: c.requestSwitch.emit(j.id, t)))
        a.endtime.triggered.connect(self._change_end_time)
        a.folder.triggered.connect(self._open_folder)
        a.open_stdout.triggered.connect(lambda: self._with_job(lambda j: self._open_file(j.log_path)))
        a.open_d3hsp.triggered.connect(lambda: self._with_job(lambda j: self._open_file(str(Path(j.workdir, "d3hsp")))))
        a.open_messag.triggered.connect(lambda: self._with_job(lambda j: self._open_file(str(Path(j.workdir, "messag")))))
        a.copy_command.triggered.connect(lambda: self._with_job(
            lambda j: QGuiApplication.clipboard().setText(" ".join(j.command))))
        a.relaunch.triggered.connect(lambda: self._with_job(lambda j: c.requestRelaunch.emit(j.id, "")))
        a.restart.triggered.connect(self._restart)
        a.up.triggered.connect(lambda: self._with_job(lambda j: c.requestMove.emit(j.id, -1)))
        a.down.triggered.connect(lambda: self._with_job(lambda j: c.requestMove.emit(j.id, 1)))
        a.change.triggered.connect(self._change_queued)
        a.remove.triggered.connect(self._remove)
        a.health.triggered.connect(c.requestHealthPass.emit)
        a.settings.triggered.connect(self.open_settings)
        a.filter.triggered.connect(lambda: (self.search.setFocus(), self.search.selectAll()))
        a.quit.triggered.connect(self.quit)

    # ------------------------------------------------------------ engine in
    def _engine_started(self, jobs: list[Job], settings, _profiles) -> None:
        self.model.reset_jobs(jobs)
        self._settings_changed(settings, _profiles)
        self.client.requestHealthPass.emit()

    def _engine_failed(self, message: str) -> None:
        QMessageBox.critical(self, "DynaGUI cannot start its engine", message)
        self.quit()

    def _settings_changed(self, settings, _profiles) -> None:
        self._health_timer.start(int(settings.health_interval * 1000))
        self.notifier.enabled = settings.notifications
        self._update_status()

    def _job_changed(self, job: Job) -> None:
        before = self.model.job(job.id)
        self.model.upsert(job)
        if before is not None and before.status != job.status and job.status.is_final:
            self._notify_end(job)
        if self.selected_job() and self.selected_job().id == job.id:
            self._selection_changed()
        self._update_status()

    def _notify_end(self, job: Job) -> None:
        took = format_duration((job.ended_at or time.time()) - job.started_at) if job.started_at else ""
        text = {JobStatus.FINISHED: f"{job.deck_name} finished in {took}",
                JobStatus.FAILED: f"{job.deck_name}: {job.reason}",
                JobStatus.STOPPED: f"{job.deck_name}: {job.reason}"}[job.status]
        self.notifier.notify(f"Job {job.id} {job.status.value}", text, job.id)

    def _job_stalled(self, job: Job) -> None:
        self.notifier.notify("Job stalled", f"{job.deck_name} has printed nothing for a long time", job.id)

    def _action_failed(self, what: str, message: str) -> None:
        QMessageBox.warning(self, f"{what} failed", message)

    def _jobs_progressed(self, progress: dict[int, dict]) -> None:
        for job_id, fields in progress.items():
            self.model.apply_progress(job_id, fields)
            self.plot_host.job_progressed(job_id)
        sel = self.selected_job()
        if sel is not None and sel.id in progress:  # after the model's batch flush has applied it
            QTimer.singleShot(200, lambda: self.details.show_job(self.selected_job()))

    def _health_reported(self, report: HealthReport, cpu: dict) -> None:
        self.last_report = report
        self.status_line.health_reported(report)
        self.ghost_panel.show_report(report.suspects, cpu)
        new = [s for s in report.ghosts if s.identity not in self._known_ghosts]
        self._known_ghosts = {s.identity for s in report.ghosts}
        for s in new:
            self.notifier.notify("Ghost solver found", f"PID {s.identity.pid} ({s.name}) still runs: {s.why}")
        self._update_status()

    def _submitted(self, job: Job, warnings: list[str]) -> None:
        self.select_job(job.id)
        for w in warnings:
            self.notifier.notify("Launch warning", w, job.id)

    # -------------------------------------------------------------- helpers
    def selected_job(self) -> Job | None:
        """The job the actions apply to: the current row of the selection."""
        current = self.table.selectionModel().currentIndex()
        rows = self.table.selectionModel().selectedRows()
        if current.isValid() and any(r.row() == current.row() for r in rows):
            job = current.data(JobRole)
        else:
            job = rows[0].data(JobRole) if rows else None
        return self.model.job(job.id) if job else None

    def selected_job_ids(self) -> list[int]:
        return sorted(r.data(JobRole).id for r in self.table.selectionModel().selectedRows())

    @property
    def plots(self) -> PlotPanels:
        """The plot panels (built on first use)."""
        return self.plot_host.panels()

    def show_plots(self, title: str = "Progress") -> None:
        self.tabs.setCurrentWidget(self.plot_host.pages[title])

    def select_job(self, job_id: int) -> None:
        row = self.model.row_of(job_id)
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            self.table.setCurrentIndex(index)
            self.table.selectRow(index.row())
            self.table.scrollTo(index)

    def _with_job(self, fn) -> None:
        job = self.selected_job()
        if job is not None:
            fn(job)

    def _selection_changed(self, *_args) -> None:
        job = self.selected_job()
        self.actions.update_for(job)
        self.sense_button.setEnabled(self.actions.sw2.isEnabled())
        self.details.show_job(job)
        self.plot_host.show_jobs(self.selected_job_ids())
        path = job.log_path if job else None
        if getattr(self, "_shown_log", None) != path:
            self._shown_log = path
            self.log_panel.show_log(path)

    def _update_empty(self, *_args) -> None:
        empty = self.model.rowCount() == 0
        self.empty_label.setVisible(empty)
        if empty:
            self.empty_label.resize(self.table.viewport().size())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.empty_label.resize(self.table.viewport().size())

    def _ghost_count(self, n: int) -> None:
        self.tabs.setTabText(self.ghost_tab, f"Ghosts ({n})" if n else "Ghosts")
        self.status_line.show_ghosts(n)

    def _update_status(self) -> None:
        """Once a second: the status bar and the table's Elapsed cells, repainted in one pass."""
        active = self.model.active_jobs()
        queued = self.model.queued_count()
        used = sum(len(j.cores) for j in active)
        settings = self.client.settings
        self.status_line.show(used, settings.core_budget if settings else "?", len(active), queued,
                              settings.health_interval if settings else 5.0)
        ghosts = len(self.last_report.suspects) if self.last_report else 0
        self.notifier.set_summary(len(active), queued, ghosts)
        self.model.tick_elapsed()

    # ------------------------------------------------------------- actions
    def open_launch_dialog(self, deck: str = "") -> LaunchDialog | None:
        if self.client.settings is None:
            return None
        start = str(self.decks_dir) if self.decks_dir else ""
        dialog = LaunchDialog(self.client.profiles, self.client.settings.core_budget, deck, start, self.last_launch, self)
        dialog.accepted.connect(lambda: self._launch(dialog.request()))
        dialog.open()
        return dialog

    def _launch(self, request: dict) -> None:
        self.last_launch = {k: v for k, v in request.items() if k in ("solver", "ncpu", "memory", "extra_args")}
        self.client.requestSubmit.emit(request)

    def _kill(self) -> None:
        job = self.selected_job()
        if job is not None and confirm_kill(self, job):
            self.client.requestStop.emit(job.id, True)

    def _change_end_time(self) -> None:
        job = self.selected_job()
        value = ask_end_time(self, job) if job else None
        if job is not None and value is not None:
            self.client.requestSwitch.emit(job.id, f"endtime={value:g}")

    def _restart(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        dump = Path(job.workdir, "d3dump01")
        if not dump.exists():
            QMessageBox.information(self, "No restart dump", f"There is no d3dump01 in {job.workdir}. Stop a running "
                                    "job with Stop (sw1) or send sw3 to write one.")
            return
        self.client.requestRelaunch.emit(job.id, str(dump))

    def _change_queued(self) -> None:
        job = self.selected_job()
        if job is None or self.client.settings is None:
            return
        changes = ask_queued_changes(self, job, self.client.settings.core_budget)
        if changes:
            self.client.requestChangeQueued.emit(job.id, changes)

    def _remove(self) -> None:
        job = self.selected_job()
        if job is None or job.status.is_active:
            return
        self.client.requestRemove.emit(job.id)

    def _open_folder(self) -> None:
        self._with_job(lambda j: QDesktopServices.openUrl(QUrl.fromLocalFile(j.workdir)))

    def _open_file(self, path: str | None) -> None:
        if not path or not Path(path).exists():
            QMessageBox.information(self, "Not there yet", f"{path or 'The file'} does not exist (yet).")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def _table_menu(self, pos) -> None:
        index = self.table.indexAt(pos)
        if index.isValid() and index.row() not in {r.row() for r in self.table.selectionModel().selectedRows()}:
            self.table.setCurrentIndex(index)
            self.table.selectRow(index.row())
        self.actions.context_menu(self).exec(self.table.viewport().mapToGlobal(pos))

    def open_settings(self) -> None:
        from dynagui.gui.settingsdialog import SettingsDialog

        if self.client.settings is None:
            return
        dialog = SettingsDialog(self.client.settings, self.client.profiles, self)
        dialog.doctorRequested.connect(self.client.requestDoctor.emit)
        self.client.worker.doctorReported.connect(dialog.show_doctor)
        dialog.accepted.connect(lambda: self.client.requestSaveSettings.emit(dialog.changes(), dialog.profile_list()))
        dialog.open()

    # ------------------------------------------------------- drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if any(u.toLocalFile().lower().endswith(DECK_SUFFIXES) for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        decks = [u.toLocalFile() for u in event.mimeData().urls() if u.toLocalFile().lower().endswith(DECK_SUFFIXES)]
        self.drop_decks(decks)
        event.acceptProposedAction()

    def drop_decks(self, decks: list[str]) -> None:
        if len(decks) == 1 or (decks and not self.last_launch):
            self.open_launch_dialog(decks[0])
            return
        for deck in decks:  # several at once: queued with the last launch settings
            self.client.requestSubmit.emit({**self.last_launch, "deck": deck})

    # ------------------------------------------------------------ lifecycle
    def bring_to_front(self) -> None:
        self.show()
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
        self.raise_()
        self.activateWindow()

    def _restore(self) -> None:
        geometry = self.qsettings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 780)
        header = self.qsettings.value("table/header")
        if header is not None:
            self.table.horizontalHeader().restoreState(header)

    def _save(self) -> None:
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("table/header", self.table.horizontalHeader().saveState())
        self.qsettings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        running = bool(self.model.active_jobs())
        if not self.quitting and running and self.notifier.has_tray:
            event.ignore()
            self.hide()
            if not self._told_tray:
                self._told_tray = True
                self.notifier.notify("DynaGUI keeps watching", "Jobs are still running, so DynaGUI stays in the tray. "
                                     "Quit from the tray menu; solvers keep running even then.")
            return
        self._save()
        self.quitting = True
        self._health_timer.stop()
        self._status_timer.stop()
        self.log_panel.shutdown()
        self.plot_host.shutdown()
        self.client.shutdown()
        self.notifier.hide()
        event.accept()

    def quit(self) -> None:
        self.quitting = True
        self.close()
        from PySide6.QtWidgets import QApplication

        QApplication.quit()
