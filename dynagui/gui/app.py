"""The composition root: application, single instance, Qt logging, demo folder, window."""

from __future__ import annotations

import hashlib
import logging
import shutil
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QtMsgType, qInstallMessageHandler
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication

from dynagui.core.paths import DataDir
from dynagui.core.store import Store
from dynagui.core.submit import Settings
from dynagui.gui.bridge import EngineClient
from dynagui.gui.icons import icon, resources_dir
from dynagui.gui.mainwindow import MainWindow

log = logging.getLogger("dynagui.gui")
qt_log = logging.getLogger("dynagui.qt")

_QT_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}


def _qt_message(mode: QtMsgType, _context: object, message: str) -> None:
    qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), message)


def instance_name(data_dir: DataDir) -> str:
    return "dynagui-" + hashlib.sha1(str(data_dir.root).encode()).hexdigest()[:16]


def ask_running_instance(name: str) -> bool:
    """True when another DynaGUI window serves this data folder (it was asked to come forward)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(300):
        return False
    socket.write(b"raise\n")
    socket.waitForBytesWritten(300)
    socket.disconnectFromServer()
    return True


def prepare_demo(data_dir: DataDir) -> Path:
    """Copy the sample decks into the demo folder (each in a folder of its own) and set a demo budget."""
    decks = data_dir.root / "decks"
    source = resources_dir() / "decks"
    for deck in sorted(source.glob("*.k")):
        target = decks / deck.stem / deck.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(deck, target)
    store = Store(data_dir.database)
    try:
        if store.get_setting("core_budget") is None:
            Settings().save(store, core_budget=max(4, Settings().core_budget))
    finally:
        store.close()
    return decks


class Application:
    """Owns the window, the engine client and the single-instance server."""

    def __init__(self, data_dir: DataDir, demo: bool = False, app: QApplication | None = None) -> None:
        self.app = app or QApplication.instance() or QApplication(sys.argv[:1])
        self.app.setApplicationName("DynaGUI")
        self.app.setOrganizationName("DynaGUI")
        self.app.setWindowIcon(icon("dynagui"))
        self.data_dir = data_dir
        self.decks = prepare_demo(data_dir) if demo else None
        self.server = QLocalServer()
        self.client = EngineClient(data_dir)
        settings = QSettings(str(data_dir.root / "window.ini"), QSettings.Format.IniFormat)
        self.window = MainWindow(self.client, settings, self.decks)
        self.server.newConnection.connect(self._other_instance)
        name = instance_name(data_dir)
        QLocalServer.removeServer(name)  # a crashed instance leaves its socket file behind
        self.server.listen(name)

    def start(self) -> MainWindow:
        self.window.show()
        self.client.start()
        return self.window

    def _other_instance(self) -> None:
        conn = self.server.nextPendingConnection()
        if conn is not None:
            conn.disconnected.connect(conn.deleteLater)
        self.window.bring_to_front()

    def close(self) -> None:
        self.window.quitting = True
        self.window.close()
        self.server.close()


def run_app(data_dir: DataDir, demo: bool = False) -> int:
    qInstallMessageHandler(_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if ask_running_instance(instance_name(data_dir)):
        log.info("another DynaGUI window serves %s; brought it to the front", data_dir.root)
        return 0
    application = Application(data_dir, demo=demo, app=app)
    app.setQuitOnLastWindowClosed(not application.window.notifier.has_tray)
    application.start()
    code = app.exec()
    application.close()
    return code
