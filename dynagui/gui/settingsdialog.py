"""Settings: core budget, health interval, stop grace, disk threshold, notifications, solver profiles."""

from __future__ import annotations

import dataclasses
import shlex

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QMessageBox, QPushButton,
                               QSpinBox, QTabWidget, QVBoxLayout, QWidget)

from dynagui.core.solver import ProfileError, SolverProfile
from dynagui.core.submit import Settings


class ProfileEditor(QDialog):
    def __init__(self, profile: SolverProfile | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Solver profile")
        self.name = QLineEdit(profile.name if profile else "")
        self.exe = QLineEdit(profile.executable if profile else "")
        self.exe.setPlaceholderText("full path of the LS-DYNA executable")
        self.parallel = QComboBox()
        self.parallel.addItems(["smp", "mpp"])
        self.parallel.setCurrentText(profile.parallel if profile else "smp")
        self.mpi = QLineEdit(" ".join(profile.mpi_launcher) if profile and profile.mpi_launcher else "mpiexec -np {ncpu}")
        self.extra = QLineEdit(" ".join(profile.extra_args) if profile else "")
        self.env = QLineEdit(" ".join(f"{k}={v}" for k, v in (profile.env if profile else {}).items()))
        self.env.setPlaceholderText("LSTC_LICENSE=ANSYS ANSYSLMD_LICENSE_FILE=1055@server")
        self.error = QLabel()
        self.error.setStyleSheet("color: #d64545")
        form = QFormLayout()
        for label, w in (("Name", self.name), ("Executable", self.exe), ("Parallel", self.parallel),
                         ("MPI launcher (MPP)", self.mpi), ("Extra arguments", self.extra), ("Environment", self.env)):
            form.addRow(label, w)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.result_profile: SolverProfile | None = None

    def _accept(self) -> None:
        try:
            env = dict(kv.split("=", 1) for kv in shlex.split(self.env.text()))
            self.result_profile = SolverProfile.from_dict({
                "name": self.name.text().strip(), "executable": self.exe.text().strip(),
                "parallel": self.parallel.currentText(),
                "mpi_launcher": shlex.split(self.mpi.text()) if self.parallel.currentText() == "mpp" else [],
                "extra_args": shlex.split(self.extra.text()), "env": env})
        except (ProfileError, ValueError) as exc:
            self.error.setText(f"{exc} — environment entries are KEY=VALUE")
            return
        if not self.result_profile.name:
            self.error.setText("give the profile a name")
            return
        self.accept()


class SettingsDialog(QDialog):
    doctorRequested = Signal(str)

    def __init__(self, settings: Settings, profiles: dict[str, SolverProfile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("DynaGUI settings")
        self.setObjectName("settingsDialog")
        self.profiles = dict(profiles)
        self.budget = QSpinBox()
        self.budget.setRange(1, 4096)
        self.budget.setValue(settings.core_budget)
        self.health = QDoubleSpinBox()
        self.health.setRange(0.5, 600)
        self.health.setSuffix(" s")
        self.health.setValue(settings.health_interval)
        self.grace = QDoubleSpinBox()
        self.grace.setRange(0, 3600)
        self.grace.setSuffix(" s")
        self.grace.setValue(settings.stop_grace)
        self.grace.setToolTip("How long Stop waits for the sw1. restart dump before terminating the solver")
        self.disk = QDoubleSpinBox()
        self.disk.setRange(0, 10000)
        self.disk.setSuffix(" GB")
        self.disk.setValue(settings.disk_warn_gb)
        self.notify = QCheckBox("Show notifications")
        self.notify.setChecked(settings.notifications)
        self.autokill = QCheckBox("Kill ghosts automatically (off: they are shown and you decide)")
        self.autokill.setChecked(settings.auto_kill_ghosts)
        general = QWidget()
        form = QFormLayout(general)
        form.addRow("Core budget", self.budget)
        form.addRow("Health pass every", self.health)
        form.addRow("Stop grace time", self.grace)
        form.addRow("Warn below free disk", self.disk)
        form.addRow("", self.notify)
        form.addRow("", self.autokill)
        self.list = QListWidget()
        self.list.setObjectName("profiles")
        self._fill()
        add, edit, remove, test = (QPushButton(t) for t in ("Add…", "Edit…", "Remove", "Test (doctor)"))
        add.clicked.connect(lambda: self._edit(None))
        edit.clicked.connect(lambda: self._edit(self._current()))
        remove.clicked.connect(self._remove)
        test.clicked.connect(lambda: self.doctorRequested.emit(self._current().name if self._current() else ""))
        self.doctor_out = QLabel()
        self.doctor_out.setWordWrap(True)
        buttons_row = QHBoxLayout()
        for b in (add, edit, remove, test):
            buttons_row.addWidget(b)
        solvers = QWidget()
        v = QVBoxLayout(solvers)
        v.addWidget(self.list)
        v.addLayout(buttons_row)
        v.addWidget(self.doctor_out)
        tabs = QTabWidget()
        tabs.addTab(general, "General")
        tabs.addTab(solvers, "Solvers")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)

    def _fill(self) -> None:
        self.list.clear()
        for name, p in self.profiles.items():
            self.list.addItem(f"{name} — {p.parallel}{' (built-in)' if p.builtin else ''}: {p.executable}")

    def _current(self) -> SolverProfile | None:
        row = self.list.currentRow()
        return list(self.profiles.values())[row] if 0 <= row < len(self.profiles) else None

    def _edit(self, profile: SolverProfile | None) -> None:
        if profile is not None and profile.builtin:
            QMessageBox.information(self, "Built-in profile", "Built-in profiles cannot be changed; add your own.")
            return
        editor = ProfileEditor(profile, self)
        if editor.exec() and editor.result_profile:
            if profile is not None and profile.name != editor.result_profile.name:
                self.profiles.pop(profile.name, None)
            self.profiles[editor.result_profile.name] = editor.result_profile
            self._fill()

    def _remove(self) -> None:
        profile = self._current()
        if profile is None or profile.builtin:
            return
        self.profiles.pop(profile.name, None)
        self._fill()

    def show_doctor(self, checks: list) -> None:
        self.doctor_out.setText("<br>".join(f"{'✔' if c.ok else '✖'} {c.name}: {c.detail}" for c in checks))

    def changes(self) -> dict:
        return {"core_budget": self.budget.value(), "health_interval": self.health.value(),
                "stop_grace": self.grace.value(), "disk_warn_gb": self.disk.value(),
                "notifications": self.notify.isChecked(), "auto_kill_ghosts": self.autokill.isChecked()}

    def profile_list(self) -> list[SolverProfile]:
        return [dataclasses.replace(p) for p in self.profiles.values()]
