"""Every user action as a QAction: toolbar, menus, right-click and keyboard share them."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from dynagui.core.jobs import Job, JobStatus
from dynagui.gui.icons import icon


def _action(parent: QWidget, text: str, tip: str, shortcut: str | QKeySequence.StandardKey | None = None,
            icon_name: str | None = None, name: str = "") -> QAction:
    act = QAction(icon(icon_name) if icon_name else None, text, parent) if icon_name else QAction(text, parent)
    act.setObjectName(name or text)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
        tip = f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
    act.setToolTip(tip)
    act.setStatusTip(tip)
    return act


class JobActions:
    def __init__(self, parent: QWidget) -> None:
        a = _action
        self.launch = a(parent, "Launch…", "Launch a deck", "Ctrl+N", "launch", "launch")
        self.stop = a(parent, "Stop", "Stop gracefully: sw1. writes a restart dump, then the solver ends", "Ctrl+.",
                      "stop", "stop")
        self.kill = a(parent, "Kill…", "Kill the solver's whole process tree at once (no restart dump)", "Ctrl+K",
                      "kill", "kill")
        self.sw2 = a(parent, "Report status (sw2)", "Ask the solver for time, cycle and estimates", None, None, "sw2")
        self.sw3 = a(parent, "Write restart dump (sw3)", "Write a d3dump restart file and go on", None, None, "sw3")
        self.sw4 = a(parent, "Write plot state (sw4)", "Write a d3plot state and go on", None, None, "sw4")
        self.swa = a(parent, "Flush output (swa)", "Flush the solver's output buffers", None, None, "swa")
        self.endtime = a(parent, "Change end time…", "Change the termination time while it runs", None, None, "endtime")
        self.sense_menu = QMenu("Sense switches", parent)
        self.sense_menu.setIcon(icon("sense"))
        self.sense_menu.setToolTip("Send a sense switch to the running solver through its d3kil file")
        for act in (self.sw2, self.sw3, self.sw4, self.swa, self.endtime):
            self.sense_menu.addAction(act)
        self.folder = a(parent, "Open working folder", "Open the job's folder", "Ctrl+O", "folder", "folder")
        self.open_stdout = a(parent, "Open solver output", "Open the stdout log in the system viewer", None, None,
                             "open_stdout")
        self.open_d3hsp = a(parent, "Open d3hsp", "Open d3hsp in the system viewer", None, None, "open_d3hsp")
        self.open_messag = a(parent, "Open messag", "Open messag in the system viewer", None, None, "open_messag")
        self.copy_command = a(parent, "Copy command line", "Copy the solver command line", None, None, "copy_command")
        self.relaunch = a(parent, "Relaunch", "Queue this deck again (a new attempt, history kept)", None, None,
                          "relaunch")
        self.restart = a(parent, "Restart from d3dump", "Queue a restart from the latest d3dump01 (r=d3dump01)", None,
                         None, "restart")
        self.up = a(parent, "Move up", "Move up in the queue", "Ctrl+Up", "up", "up")
        self.down = a(parent, "Move down", "Move down in the queue", "Ctrl+Down", "down", "down")
        self.change = a(parent, "Change cores / priority…", "Change ncpu or priority while queued", None, None,
                        "change")
        self.remove = a(parent, "Remove from history", "Remove the job from the list (its files stay)",
                        QKeySequence.StandardKey.Delete, None, "remove")
        self.health = a(parent, "Health pass", "Look for dead jobs, ghosts and untracked solvers now", "F5", "health",
                        "health")
        self.settings = a(parent, "Settings…", "Core budget, timings, solver profiles", "Ctrl+,", "settings", "settings")
        self.filter = a(parent, "Filter", "Focus the filter box", "Ctrl+L", None, "filter")
        self.quit = a(parent, "Quit", "Quit DynaGUI: solvers keep running and are reattached next time", "Ctrl+Q",
                      None, "quit")
        for act in self.all():
            parent.addAction(act)

    def all(self) -> list[QAction]:
        return [v for v in vars(self).values() if isinstance(v, QAction)]

    def update_for(self, job: Job | None) -> None:
        """Enable what makes sense for the selected job."""
        status = job.status if job else None
        running = status in (JobStatus.RUNNING, JobStatus.STARTING, JobStatus.STOPPING)
        queued = status == JobStatus.QUEUED
        final = bool(job and job.status.is_final)
        self.stop.setEnabled(running or queued)
        self.kill.setEnabled(running)
        self.sense_menu.setEnabled(status == JobStatus.RUNNING)
        for act in (self.sw2, self.sw3, self.sw4, self.swa, self.endtime):
            act.setEnabled(status == JobStatus.RUNNING)
        for act in (self.folder, self.open_stdout, self.open_d3hsp, self.open_messag):
            act.setEnabled(job is not None)
        self.copy_command.setEnabled(bool(job and job.command))
        self.relaunch.setEnabled(final)
        self.restart.setEnabled(final)
        self.up.setEnabled(queued)
        self.down.setEnabled(queued)
        self.change.setEnabled(queued)
        self.remove.setEnabled(bool(job) and not running)

    def context_menu(self, parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        for act in (self.stop, self.kill):
            menu.addAction(act)
        menu.addMenu(self.sense_menu)
        menu.addSeparator()
        for act in (self.folder, self.open_stdout, self.open_d3hsp, self.open_messag, self.copy_command):
            menu.addAction(act)
        menu.addSeparator()
        for act in (self.relaunch, self.restart, self.up, self.down, self.change):
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction(self.remove)
        return menu
