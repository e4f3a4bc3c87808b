"""Tray icon and notifications, with the status bar as the fallback where no tray exists."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMenu, QStatusBar, QSystemTrayIcon, QWidget

from dynagui.gui.icons import icon


class Notifier(QObject):
    """Shows short messages; `jobClicked` carries the job a clicked notification was about."""

    jobClicked = Signal(int)
    showRequested = Signal()
    quitRequested = Signal()

    def __init__(self, status_bar: QStatusBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_bar = status_bar
        self.enabled = True
        self.last_message: tuple[str, str] | None = None
        self._last_job: int | None = None
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icon("dynagui"), self)
            self.tray.setObjectName("tray")
            menu = QMenu(parent)
            menu.addAction("Show DynaGUI", self.showRequested.emit)
            menu.addSeparator()
            menu.addAction("Quit (solvers keep running)", self.quitRequested.emit)
            self.tray.setContextMenu(menu)
            self.tray.messageClicked.connect(self._clicked)
            self.tray.activated.connect(lambda _reason: self.showRequested.emit())
            self.tray.setToolTip("DynaGUI")
            self.tray.show()

    @property
    def has_tray(self) -> bool:
        return self.tray is not None

    def notify(self, title: str, message: str, job_id: int | None = None) -> None:
        self.last_message = (title, message)
        self._last_job = job_id
        if not self.enabled:
            return
        if self.tray is not None and self.tray.supportsMessages():
            self.tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 8000)
        else:
            self.status_bar.showMessage(f"{title}: {message}", 15000)

    def set_summary(self, running: int, queued: int, ghosts: int) -> None:
        if self.tray is not None:
            text = f"DynaGUI — {running} running, {queued} queued"
            if ghosts:
                text += f", {ghosts} ghost(s)"
            if self.tray.toolTip() != text:  # a tray tooltip change is a D-Bus message on Linux
                self.tray.setToolTip(text)

    def _clicked(self) -> None:
        if self._last_job is not None:
            self.jobClicked.emit(self._last_job)
        self.showRequested.emit()

    def hide(self) -> None:
        if self.tray is not None:
            self.tray.hide()
