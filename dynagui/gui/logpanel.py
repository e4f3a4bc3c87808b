"""The live stdout of the selected job, following the tail, warnings and errors highlighted.

The file is read by a worker in its own thread (a log can be hundreds of MB);
the GUI thread only appends the text it is handed.
"""

from __future__ import annotations

import os
import re

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

INITIAL_TAIL = 256 * 1024  # a long log opens at its end
MAX_BLOCKS = 20000


class LogTailWorker(QObject):
    textArrived = Signal(int, str, bool)  # generation, text, replaces the view

    def __init__(self) -> None:
        super().__init__()
        self._path: str | None = None
        self._offset = 0
        self._generation = 0
        self._timer: QTimer | None = None

    @Slot(int, str)
    def follow(self, generation: int, path: str) -> None:
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.setObjectName("log-tail")
            self._timer.setInterval(400)
            self._timer.timeout.connect(self._read)
            self._timer.start()
        self._generation = generation
        self._path = path or None
        self._offset = 0
        if self._path:  # nothing to follow, nothing to wake up for
            self._timer.start()
        else:
            self._timer.stop()
        if self._path:
            try:
                size = os.path.getsize(self._path)
                self._offset = max(0, size - INITIAL_TAIL)
            except OSError:
                self._offset = 0
        self._read(replace=True)

    @Slot()
    def halt(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    def _read(self, replace: bool = False) -> None:
        if not self._path:
            if replace:
                self.textArrived.emit(self._generation, "", True)
            return
        try:
            with open(self._path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read(4 << 20)
        except OSError:
            data = b""
        if not data and not replace:
            return
        self._offset += len(data)
        text = data.replace(b"\x00", b"").decode("utf-8", "replace").replace("\r", "")
        self.textArrived.emit(self._generation, text, replace)


class LogHighlighter(QSyntaxHighlighter):
    RULES = [
        (re.compile(r"^\s*\*\*\* Error.*|E r r o r\s+t e r m i n a t i o n.*|^forrtl: severe.*|.*BAD TERMINATION.*"),
         "#d64545", True),
        (re.compile(r"^\s*\*\*\* Warning.*"), "#c98a00", True),
        (re.compile(r"N o r m a l\s+t e r m i n a t i o n.*|\*\*\* termination time reached.*"), "#2e9d4a", True),
        (re.compile(r"\*\*\* kill file detected.*"), "#6b7fa3", True),
    ]

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._formats = []
        for rx, colour, bold in self.RULES:
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            if bold:
                fmt.setFontWeight(QFont.Weight.Bold)
            self._formats.append((rx, fmt))

    def highlightBlock(self, text: str) -> None:
        for rx, fmt in self._formats:
            if rx.search(text):
                self.setFormat(0, len(text), fmt)
                return


class LogPanel(QWidget):
    requestFollow = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QPlainTextEdit(self)
        self.view.setObjectName("logView")
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(MAX_BLOCKS)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setFont(QFont("monospace"))
        self.view.setPlaceholderText("Select a job to see its solver output here.")
        self.highlighter = LogHighlighter(self.view.document())
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Show only lines containing…")
        self.filter.setClearButtonEnabled(True)
        self.follow = QCheckBox("Follow", self)
        self.follow.setChecked(True)
        self.follow.setToolTip("Keep the view at the end of the output as it grows")
        bar = QHBoxLayout()
        bar.addWidget(self.filter)
        bar.addWidget(self.follow)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        self._text = ""
        self._generation = 0
        self.thread = QThread(self)
        self.thread.setObjectName("dynagui-log-tail")
        self.worker = LogTailWorker()
        self.worker.moveToThread(self.thread)
        self.requestFollow.connect(self.worker.follow)
        self.worker.textArrived.connect(self._append)
        self.filter.textChanged.connect(self._refilter)
        self.thread.start()

    def show_log(self, path: str | None) -> None:
        self._generation += 1
        self.requestFollow.emit(self._generation, path or "")

    def shutdown(self) -> None:
        from PySide6.QtCore import QMetaObject, Qt

        if self.thread.isRunning():
            QMetaObject.invokeMethod(self.worker, "halt", Qt.ConnectionType.BlockingQueuedConnection)
            self.thread.quit()
            self.thread.wait(5000)

    def _append(self, generation: int, text: str, replace: bool) -> None:
        if generation != self._generation:
            return  # output of a job that is no longer selected
        if replace:
            self._text = ""
            self.view.clear()
        self._text = (self._text + text)[-8 * INITIAL_TAIL:]
        wanted = self.filter.text()
        if wanted:
            text = "\n".join(line for line in text.split("\n") if wanted in line)
        if not text:
            return
        self.view.moveCursor(self.view.textCursor().MoveOperation.End)
        self.view.insertPlainText(text)
        if self.follow.isChecked():
            self.view.verticalScrollBar().setValue(self.view.verticalScrollBar().maximum())

    def _refilter(self) -> None:
        wanted = self.filter.text()
        lines = self._text.split("\n")
        self.view.setPlainText("\n".join(line for line in lines if wanted in line) if wanted else self._text)
        if self.follow.isChecked():
            self.view.verticalScrollBar().setValue(self.view.verticalScrollBar().maximum())

    def text(self) -> str:
        return self.view.toPlainText()
