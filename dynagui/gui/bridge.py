"""The GUI's only door to the engine: a worker QObject in its own QThread.

The window emits requests (imperative signal names); the worker runs them on the
engine off the GUI thread and reports facts (past-tense names) carrying frozen
values: Job snapshots, HealthReports, plain dicts. Nothing here touches a widget.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import psutil
from PySide6.QtCore import QObject, QThread, Qt, Signal, Slot, QMetaObject

from dynagui.core import control, proctrack, queue
from dynagui.core.doctor import run_doctor
from dynagui.core.engine import Engine
from dynagui.core.events import EngineEvent
from dynagui.core.health import Suspect
from dynagui.core.lock import EngineBusy
from dynagui.core.paths import DataDir
from dynagui.core.solver import ProfileError, SolverProfile
from dynagui.core.store import StoreError
from dynagui.core.submit import Settings, SubmitError, all_profiles, submit

log = logging.getLogger("dynagui.gui.bridge")

RESULT_PATTERNS = ("d3plot*", "d3dump*", "d3thdt*", "runrsf*", "messag", "mes[0-9]*", "d3hsp", "status.out",
                   "glstat", "matsum", "rcforc", "nodout", "elout", "d3kil", "*.out.txt")


def previous_results(folder: Path) -> list[Path]:
    """Files a previous LS-DYNA run left in `folder` (what 'clean previous results' deletes)."""
    found: set[Path] = set()
    for pattern in RESULT_PATTERNS:
        found.update(p for p in folder.glob(pattern) if p.is_file())
    return sorted(found)


class EngineWorker(QObject):
    started = Signal(object, object, object)  # jobs, settings, profiles
    startFailed = Signal(str)
    jobChanged = Signal(object)
    jobsProgressed = Signal(object)  # {job_id: changed progress fields}
    jobRemoved = Signal(int)
    jobStalled = Signal(object)
    healthReported = Signal(object, object)  # HealthReport, {pid: cpu seconds}
    actionFailed = Signal(str, str)  # what, message
    submitted = Signal(object, object)  # Job, warnings
    settingsChanged = Signal(object, object)  # Settings, profiles
    doctorReported = Signal(object)
    stopped = Signal()

    def __init__(self, data_dir: DataDir) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.engine: Engine | None = None

    # --------------------------------------------------------------- engine
    @Slot()
    def start(self) -> None:
        try:
            self.engine = Engine(self.data_dir, kind="gui", health_in_loop=False)
            self.engine.subscribe(self._on_event)
            self.engine.start()
            store = self.engine.store
            self.started.emit(store.list_jobs(), self.engine.settings, all_profiles(store))
        except (EngineBusy, StoreError, OSError) as exc:
            self.engine = None
            self.startFailed.emit(str(exc))

    @Slot()
    def shutdown(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        self.stopped.emit()

    def _on_event(self, event: EngineEvent) -> None:  # called on engine threads: only emit
        if event.kind == "job-changed" and event.job is not None:
            self.jobChanged.emit(event.job)
        elif event.kind == "jobs-progress":
            self.jobsProgressed.emit(event.data)
        elif event.kind == "job-stalled" and event.job is not None:
            self.jobStalled.emit(event.job)
        elif event.kind == "health":
            cpu = {}
            for s in event.report.suspects:
                cpu[s.identity.pid] = proctrack.cpu_seconds([s.identity])
            self.healthReported.emit(event.report, cpu)

    def _guard(self, what: str, fn, *args: Any) -> Any:
        if self.engine is None:
            return None
        try:
            return fn(*args)
        except (SubmitError, control.ControlError, queue.QueueError, ProfileError, StoreError, OSError) as exc:
            self.actionFailed.emit(what, str(exc))
        except Exception as exc:  # a bug: say so rather than die silently in a worker
            log.exception("%s failed", what)
            self.actionFailed.emit(what, f"unexpected error: {exc}")
        return None

    # -------------------------------------------------------------- requests
    @Slot(object)
    def submitJob(self, request: dict) -> None:
        def run() -> None:
            request_ = dict(request)
            if request_.pop("clean", False):
                for path in previous_results(Path(request_.get("workdir") or Path(request_["deck"]).parent)):
                    path.unlink(missing_ok=True)
            job, warnings = submit(self.engine.store, **request_)
            self.jobChanged.emit(job)
            self.submitted.emit(job, warnings)
            self.engine.start_ready()

        self._guard("Launch", run)

    @Slot(int, bool)
    def stopJob(self, job_id: int, kill: bool) -> None:
        self._guard("Kill" if kill else "Stop", lambda: self.engine.stop(job_id, kill=kill))

    @Slot(int, str)
    def sendSwitch(self, job_id: int, switch: str) -> None:
        self._guard("Sense switch", self.engine.switch, job_id, switch)

    @Slot()
    def runHealthPass(self) -> None:
        self._guard("Health pass", self.engine.health_check)

    @Slot(object)
    def killSuspects(self, suspects: list[Suspect]) -> None:
        def run() -> None:
            killed = self.engine.kill_suspects(suspects)
            missed = [s for s in suspects if s not in killed and proctrack.is_alive(s.identity)]
            if missed:
                self.actionFailed.emit("Kill", "could not kill " + ", ".join(f"PID {s.identity.pid}" for s in missed))
            self.engine.health_check()

        self._guard("Kill", run)

    @Slot(object)
    def adoptSuspect(self, suspect: Suspect) -> None:
        self._guard("Adopt", self.engine.adopt, suspect.identity)

    @Slot(int, str)
    def relaunchJob(self, job_id: int, restart_from: str) -> None:
        def run() -> None:
            self.jobChanged.emit(queue.relaunch(self.engine.store, job_id, restart_from or None))
            self.engine.start_ready()

        self._guard("Relaunch", run)

    @Slot(int)
    def removeJob(self, job_id: int) -> None:
        def run() -> None:
            queue.remove(self.engine.store, job_id)
            self.jobRemoved.emit(job_id)

        self._guard("Remove", run)

    @Slot(int, int)
    def moveJob(self, job_id: int, steps: int) -> None:
        def run() -> None:
            queue.move(self.engine.store, job_id, steps)
            for job in self.engine.store.queued_jobs():
                self.jobChanged.emit(job)

        self._guard("Move", run)

    @Slot(int, object)
    def changeQueued(self, job_id: int, changes: dict) -> None:
        def run() -> None:
            if "priority" in changes:
                queue.set_priority(self.engine.store, job_id, changes["priority"])
            if "ncpu" in changes:
                queue.set_ncpu(self.engine.store, job_id, changes["ncpu"])
            self.jobChanged.emit(self.engine.store.get_job(job_id))

        self._guard("Change", run)

    @Slot(object, object)
    def saveSettings(self, changes: dict, profiles: list) -> None:
        def run() -> None:
            store = self.engine.store
            settings = self.engine.settings
            settings.save(store, **changes)
            current = {n for n, p in all_profiles(store).items() if not p.builtin}
            wanted = {p.name for p in profiles if not p.builtin}
            for profile in profiles:
                if not profile.builtin:
                    store.save_solver_profile(profile.name, profile.to_dict())
            for name in current - wanted:
                store.remove_solver_profile(name)
            self.settingsChanged.emit(settings, all_profiles(store))
            self.engine.start_ready()

        self._guard("Settings", run)

    @Slot(str)
    def runDoctor(self, profile_name: str) -> None:
        self._guard("Doctor", lambda: self.doctorReported.emit(run_doctor(self.data_dir, profile_name or None)))


class EngineClient(QObject):
    """Lives in the GUI thread; owns the worker thread and relays both ways."""

    requestStart = Signal()
    requestSubmit = Signal(object)
    requestStop = Signal(int, bool)
    requestSwitch = Signal(int, str)
    requestHealthPass = Signal()
    requestKillSuspects = Signal(object)
    requestAdopt = Signal(object)
    requestRelaunch = Signal(int, str)
    requestRemove = Signal(int)
    requestMove = Signal(int, int)
    requestChangeQueued = Signal(int, object)
    requestSaveSettings = Signal(object, object)
    requestDoctor = Signal(str)

    def __init__(self, data_dir: DataDir, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("dynagui-engine-worker")
        self.worker = EngineWorker(data_dir)
        self.worker.moveToThread(self.thread)
        w = self.worker
        self.requestStart.connect(w.start)
        self.requestSubmit.connect(w.submitJob)
        self.requestStop.connect(w.stopJob)
        self.requestSwitch.connect(w.sendSwitch)
        self.requestHealthPass.connect(w.runHealthPass)
        self.requestKillSuspects.connect(w.killSuspects)
        self.requestAdopt.connect(w.adoptSuspect)
        self.requestRelaunch.connect(w.relaunchJob)
        self.requestRemove.connect(w.removeJob)
        self.requestMove.connect(w.moveJob)
        self.requestChangeQueued.connect(w.changeQueued)
        self.requestSaveSettings.connect(w.saveSettings)
        self.requestDoctor.connect(w.runDoctor)
        self.settings: Settings | None = None
        self.profiles: dict[str, SolverProfile] = {}
        w.started.connect(self._remember)
        w.settingsChanged.connect(self._remember_settings)
        self.thread.start()

    def _remember(self, _jobs: object, settings: Settings, profiles: dict) -> None:
        self._remember_settings(settings, profiles)

    def _remember_settings(self, settings: Settings, profiles: dict) -> None:
        self.settings = settings
        self.profiles = profiles

    def start(self) -> None:
        self.requestStart.emit()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop watching (solvers keep running), then stop and join the worker thread."""
        if not self.thread.isRunning():
            return
        QMetaObject.invokeMethod(self.worker, "shutdown", Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.quit()
        self.thread.wait(timeout_ms)


def disk_free_gb(folder: str) -> float | None:
    try:
        return shutil.disk_usage(folder).free / 1e9
    except OSError:
        return None


def process_cwd(pid: int) -> str | None:
    try:
        return psutil.Process(pid).cwd()
    except psutil.Error:
        return None
