"""The plot tabs, built the first time one of them is opened.

pyqtgraph's import and the plot widgets cost about half a second on a small
workstation: a window that starts on its job table should not pay that before
it is usable, nor at all when nobody opens a plot. Until then each plot tab is
an empty page, and selections are only remembered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from dynagui.core.paths import DataDir

if TYPE_CHECKING:
    from dynagui.gui.plots import PlotPanels

TITLES = ("Progress", "Timestep", "Cores")


class PlotHost(QObject):
    def __init__(self, data_dir: DataDir, tabs: QTabWidget, parent: QWidget) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.tabs = tabs
        self.parent_widget = parent
        self._panels: PlotPanels | None = None
        self._selection: list[int] = []
        self.pages: dict[str, QWidget] = {}
        for title in TITLES:
            page = QWidget()
            page.setObjectName(f"plotPage-{title.lower()}")
            QVBoxLayout(page).setContentsMargins(0, 0, 0, 0)
            tabs.addTab(page, title)
            self.pages[title] = page
        tabs.currentChanged.connect(self._tab_changed)

    def panels(self) -> PlotPanels:
        if self._panels is None:
            from dynagui.gui.plots import PlotPanels  # pyqtgraph loads here, not with the window

            self._panels = PlotPanels(self.data_dir, self.parent_widget)
            for title, widget in self._panels.tabs():
                self.pages[title].layout().addWidget(widget)
            self._panels.show_jobs(self._selection)
        return self._panels

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) in self.pages.values():
            self.panels()

    def show_jobs(self, job_ids: list[int]) -> None:
        self._selection = list(job_ids)
        if self._panels is not None:
            self._panels.show_jobs(self._selection)

    def job_progressed(self, job_id: int) -> None:
        if self._panels is not None:
            self._panels.job_progressed(job_id)

    def shutdown(self) -> None:
        if self._panels is not None:
            self._panels.shutdown()
