"""Ghosts and untracked solvers from the latest health pass, with Kill / Adopt / Open folder."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import QHeaderView, QLabel, QMenu, QMessageBox, QTableView, QVBoxLayout, QWidget

from dynagui.core.health import Suspect
from dynagui.gui.bridge import process_cwd
from dynagui.gui.icons import icon
from dynagui.gui.style import GHOST_COLOUR, format_duration

SuspectRole = Qt.ItemDataRole.UserRole + 1
COLUMNS = ["PID", "Kind", "Name", "Started", "CPU", "Job", "Why", "Command line"]


class GhostModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Suspect] = []
        self._cpu: dict[int, float] = {}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        s = self._rows[index.row()]
        if role == SuspectRole:
            return s
        if role == Qt.ItemDataRole.DecorationRole and index.column() == 1 and s.kind == "ghost":
            return icon("ghost")
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1:
            return QColor(GHOST_COLOUR) if s.kind == "ghost" else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return s.why
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        cpu = self._cpu.get(s.identity.pid)
        return [
            str(s.identity.pid), s.kind, s.name,
            time.strftime("%m-%d %H:%M:%S", time.localtime(s.identity.create_time)),
            format_duration(cpu) if cpu is not None else "",
            str(s.job_id) if s.job_id is not None else "-", s.why, " ".join(s.cmdline),
        ][index.column()]

    def set_suspects(self, suspects: list[Suspect], cpu: dict[int, float]) -> None:
        old = {(s.identity, s.kind) for s in self._rows}
        new = {(s.identity, s.kind) for s in suspects}
        self._cpu = cpu
        if old == new:  # same processes: only the CPU column moves
            if self._rows:
                self.dataChanged.emit(self.index(0, 4), self.index(len(self._rows) - 1, 4))
            return
        self.beginResetModel()  # the set of suspects changed: small list, rebuilt whole
        self._rows = list(suspects)
        self.endResetModel()

    def suspects(self) -> list[Suspect]:
        return list(self._rows)


class GhostPanel(QWidget):
    killRequested = Signal(object)  # list[Suspect]
    adoptRequested = Signal(object)  # Suspect
    countChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = GhostModel()
        self.view = QTableView(self)
        self.view.setObjectName("ghostTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.empty = QLabel("No ghosts: every solver process on this machine is tracked by a job.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.view)
        self.view.hide()

    def show_report(self, suspects: list[Suspect], cpu: dict[int, float]) -> None:
        self.model.set_suspects(suspects, cpu)
        self.view.setVisible(bool(suspects))
        self.empty.setVisible(not suspects)
        self.countChanged.emit(len(suspects))

    def selected(self) -> list[Suspect]:
        rows = {i.row() for i in self.view.selectionModel().selectedRows()}
        return [self.model.index(r, 0).data(SuspectRole) for r in sorted(rows)]

    def _menu(self, pos: Any) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        if index.row() not in {i.row() for i in self.view.selectionModel().selectedRows()}:
            self.view.selectRow(index.row())
        suspects = self.selected()
        menu = QMenu(self)
        menu.addAction(icon("kill"), "Kill…", lambda: self.confirm_kill(suspects))
        adopt = menu.addAction("Adopt as a job", lambda: self.adoptRequested.emit(suspects[0]))
        adopt.setEnabled(len(suspects) == 1 and suspects[0].kind == "untracked")
        adopt.setToolTip("Track this solver from now on: it gets a job row, a waiter and health checks")
        menu.addAction(icon("folder"), "Open its working folder", lambda: self._open_folder(suspects[0]))
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def confirm_kill(self, suspects: list[Suspect], ask: bool = True) -> bool:
        if not suspects:
            return False
        lines = [f"• {s.name} (PID {s.identity.pid}, {s.kind}): {s.why}" for s in suspects]
        text = ("Kill these processes? They are terminated, and killed if they do not end within 3 s. "
                "Nothing else is touched.\n\n" + "\n".join(lines))
        if ask and QMessageBox.question(self, "Kill ghost solvers", text) != QMessageBox.StandardButton.Yes:
            return False
        self.killRequested.emit(suspects)
        return True

    def _open_folder(self, suspect: Suspect) -> None:
        cwd = process_cwd(suspect.identity.pid)
        if cwd:
            QDesktopServices.openUrl(QUrl.fromLocalFile(cwd))
