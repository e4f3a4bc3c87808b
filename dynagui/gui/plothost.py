"""The plot tabs, built the first time one of them is opened.

pyqtgraph's import and the plot widgets cost about half a second on a small
workstation: a window that starts on its job table should not pay that before
it is usable, nor at all when nobody opens a plot. Until then each plot tab is
an empty placeholder page, and selections are only remembered; then the plot
tabs take the placeholders' places.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTabWidget, QWidget

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
        self.pages: dict[str, QWidget] = {}  # title -> the tab's page: a placeholder, then the plot tab
        for title in TITLES:
            page = QWidget()
            page.setObjectName(f"plotPlaceholder-{title.lower()}")
            tabs.addTab(page, title)
            self.pages[title] = page
        tabs.currentChanged.connect(self._tab_changed)

    def panels(self) -> PlotPanels:
        if self._panels is None:
            from dynagui.gui.plots import PlotPanels  # pyqtgraph loads here, not with the window

            self._panels = PlotPanels(self.data_dir, self.parent_widget)
            self._swap_in(dict(self._panels.tabs()))
            self._panels.show_jobs(self._selection)
        return self._panels

    def _swap_in(self, widgets: dict[str, QWidget]) -> None:
        """Put the plot tabs where their placeholders were (same place, same title, same current tab)."""
        current = self.tabs.currentIndex()
        self.tabs.blockSignals(True)  # the tab bar moves while tabs are swapped: nothing really changes
        try:
            for title, widget in widgets.items():
                placeholder = self.pages[title]
                index = self.tabs.indexOf(placeholder)
                self.tabs.removeTab(index)
                self.tabs.insertTab(index, widget, title)
                self.pages[title] = widget
                placeholder.deleteLater()
            self.tabs.setCurrentIndex(current)
        finally:
            self.tabs.blockSignals(False)

    def _tab_changed(self, index: int) -> None:
        if self._panels is None and self.tabs.widget(index) in self.pages.values():
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
