"""Small questions about one job: kill it?, new end time?, new cores or priority?"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QInputDialog, QMessageBox, QSpinBox, QWidget

from dynagui.core.jobs import Job


def confirm_kill(parent: QWidget, job: Job) -> bool:
    pids = ", ".join(str(p) for p in job.solver_pids) or "none recorded yet"
    answer = QMessageBox.question(
        parent, "Kill job", f"Kill job {job.id} ({job.deck_name}) now?\n\nIts whole process tree is killed at once "
        f"(solver PIDs: {pids}). No restart dump is written; results since the last d3plot are lost.")
    return answer == QMessageBox.StandardButton.Yes


def ask_end_time(parent: QWidget, job: Job) -> float | None:
    value, ok = QInputDialog.getDouble(parent, "Change end time", f"New termination time for {job.deck_name}:",
                                       job.end_time or 1.0, 0.0, 1e12, 6)
    return value if ok and value > 0 else None


def ask_queued_changes(parent: QWidget, job: Job, budget: int) -> dict | None:
    dialog = QDialog(parent)
    dialog.setWindowTitle(f"Change job {job.id}")
    ncpu, prio = QSpinBox(), QSpinBox()
    ncpu.setRange(1, budget)
    ncpu.setValue(job.ncpu)
    prio.setRange(-100, 100)
    prio.setValue(job.priority)
    prio.setToolTip("Higher runs first; equal priorities run in submission order")
    form = QFormLayout(dialog)
    form.addRow("Cores (ncpu)", ncpu)
    form.addRow("Priority", prio)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    if dialog.exec():
        return {"ncpu": ncpu.value(), "priority": prio.value()}
    return None
