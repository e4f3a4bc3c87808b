"""The launch dialog: deck, solver, cores, memory, folder, priority, extra arguments."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QMessageBox, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from dynagui.core.solver import ProfileError, SolverProfile, parse_memory
from dynagui.core.submit import DECK_SUFFIXES
from dynagui.gui.bridge import previous_results

DECK_FILTER = "LS-DYNA decks (*.k *.key *.dyn *.kw *.inp);;All files (*)"


class LaunchDialog(QDialog):
    def __init__(self, profiles: dict[str, SolverProfile], budget: int, deck: str = "", start_dir: str = "",
                 last: dict | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Launch an LS-DYNA job")
        self.setObjectName("launchDialog")
        self.budget = budget
        self.start_dir = start_dir
        last = last or {}
        self.deck = QLineEdit(deck)
        self.deck.setObjectName("deck")
        self.deck.setPlaceholderText("the input deck (.k)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_deck)
        self.solver = QComboBox()
        self.solver.setObjectName("solver")
        for name, profile in profiles.items():
            self.solver.addItem(f"{name} ({profile.parallel})", name)
        if last.get("solver") in profiles:
            self.solver.setCurrentIndex(list(profiles).index(last["solver"]))
        self.ncpu = QSpinBox()
        self.ncpu.setObjectName("ncpu")
        self.ncpu.setRange(1, max(1, budget))
        self.ncpu.setValue(min(budget, last.get("ncpu", 1)))
        self.ncpu.setSuffix(f" of {budget} cores")
        self.memory = QLineEdit(last.get("memory") or "")
        self.memory.setPlaceholderText("e.g. 20m (words); empty = solver default")
        self.workdir = QLineEdit()
        self.workdir.setObjectName("workdir")
        self.workdir.setPlaceholderText("the deck's folder")
        browse_dir = QPushButton("Browse…")
        browse_dir.clicked.connect(self._browse_dir)
        self.priority = QSpinBox()
        self.priority.setRange(-100, 100)
        self.priority.setToolTip("Higher runs first; equal priorities run in submission order")
        self.extra = QLineEdit(" ".join(last.get("extra_args", ())))
        self.extra.setPlaceholderText("extra solver arguments, e.g. d=nodump")
        self.clean = QCheckBox("Delete previous results in the folder first (d3plot, d3dump, messag, …)")
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        form.addRow("Deck", self._row(self.deck, browse, "deck"))
        form.addRow("Solver", self.solver)
        form.addRow("Cores (ncpu)", self.ncpu)
        form.addRow("Memory", self._row(self.memory, None, "memory"))
        form.addRow("Working folder", self._row(self.workdir, browse_dir, "workdir"))
        form.addRow("Priority", self.priority)
        form.addRow("Extra arguments", self._row(self.extra, None, "extra"))
        form.addRow("", self.clean)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Launch")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        for edit in (self.deck, self.memory, self.workdir, self.extra):
            edit.textChanged.connect(self.validate)
        self.validate()

    def _row(self, edit: QLineEdit, button: QPushButton | None, key: str) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        h = QHBoxLayout()
        h.addWidget(edit)
        if button:
            h.addWidget(button)
        v.addLayout(h)
        err = QLabel()
        err.setObjectName(f"{key}Error")
        err.setStyleSheet("color: #d64545")
        err.hide()
        v.addWidget(err)
        self.errors[key] = err
        return box

    def _browse_deck(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a deck", self.start_dir or os.getcwd(), DECK_FILTER)
        if path:
            self.deck.setText(path)

    def _browse_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Working folder", self.workdir.text() or self.start_dir)
        if path:
            self.workdir.setText(path)

    def _problems(self) -> dict[str, str]:
        problems = {}
        deck = self.deck.text().strip()
        if not deck:
            problems["deck"] = "choose a deck to run"
        elif not Path(deck).is_file():
            problems["deck"] = "no such file"
        elif not deck.lower().endswith(DECK_SUFFIXES):
            problems["deck"] = "not a keyword deck (.k, .key, .dyn)"
        try:
            parse_memory(self.memory.text().strip() or None)
        except ProfileError:
            problems["memory"] = "use words with an optional m/g suffix: 20m, 400m, 2g"
        folder = self.workdir.text().strip()
        if folder and not Path(folder).is_dir():
            problems["workdir"] = "no such folder"
        try:
            shlex.split(self.extra.text())
        except ValueError as exc:
            problems["extra"] = f"cannot split the arguments: {exc}"
        return problems

    def validate(self) -> bool:
        problems = self._problems()
        for key, label in self.errors.items():
            label.setText(problems.get(key, ""))
            label.setVisible(key in problems)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)
        return not problems

    def request(self) -> dict:
        deck = self.deck.text().strip()
        return {
            "deck": deck, "solver": self.solver.currentData(), "ncpu": self.ncpu.value(),
            "memory": self.memory.text().strip() or None, "workdir": self.workdir.text().strip() or None,
            "priority": self.priority.value(), "extra_args": tuple(shlex.split(self.extra.text())),
            "clean": self.clean.isChecked(),
        }

    def _accept(self) -> None:
        if not self.validate():
            return
        if self.clean.isChecked():
            folder = Path(self.workdir.text().strip() or Path(self.deck.text().strip()).parent)
            files = previous_results(folder)
            if files:
                names = ", ".join(p.name for p in files[:8]) + (" …" if len(files) > 8 else "")
                answer = QMessageBox.question(self, "Delete previous results",
                                              f"Delete {len(files)} result file(s) in {folder} before the launch?\n\n"
                                              f"{names}")
                if answer != QMessageBox.StandardButton.Yes:
                    return
        self.accept()
