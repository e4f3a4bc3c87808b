"""Live plots (pyqtgraph): progress against wall time, timestep against simulation time, CPU and cores.

Curves are created once per job and fed with `setData` from a 500 ms batch timer,
only for the panel on screen; peak downsampling and clip-to-view keep a
million-sample run fluid. Data comes from the store through a worker thread.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from dynagui.core.paths import DataDir
from dynagui.gui.plotdata import JobSeries, PlotDataWorker, csv_path_default

pg.setConfigOptions(antialias=False, background="w", foreground="#333", exitCleanup=False)
MACHINE_WINDOW_S = 3600.0


def _colour(i: int) -> pg.QtGui.QColor:
    return pg.intColor(i, hues=8, values=1, maxValue=200)


def _curve(plot: pg.PlotItem, name: str | None, colour, style=None, width: float = 2) -> pg.PlotDataItem:
    pen = pg.mkPen(colour, width=width, style=style) if style is not None else pg.mkPen(colour, width=width)
    item = plot.plot([], [], pen=pen, name=name)
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


class PlotTab(QWidget):
    """A graphics layout with Reset / PNG / CSV buttons and a hover read-out."""

    def __init__(self, title: str, panels: "PlotPanels") -> None:
        super().__init__()
        self.setObjectName(f"plot-{title}")
        self.panels = panels
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.readout = QLabel(" ")
        self.readout.setObjectName("readout")
        reset, png, csv_ = QPushButton("Reset view"), QPushButton("Export PNG…"), QPushButton("Export CSV…")
        reset.setToolTip("Show all the data again after zooming or panning")
        reset.clicked.connect(self.reset_view)
        png.clicked.connect(self.export_png)
        csv_.clicked.connect(panels.export_csv)
        bar = QHBoxLayout()
        bar.addWidget(self.readout, 1)
        for b in (reset, png, csv_):
            bar.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.layout_widget)
        self.plots: list[pg.PlotItem] = []
        self._proxy = pg.SignalProxy(self.layout_widget.scene().sigMouseMoved, rateLimit=30, slot=self._hover)

    def add_plot(self, row: int, **kw) -> pg.PlotItem:
        plot = self.layout_widget.addPlot(row=row, col=0, **kw)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.addLegend(offset=(10, 5))
        self.plots.append(plot)
        return plot

    def reset_view(self) -> None:
        for plot in self.plots:
            plot.enableAutoRange()

    def export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", f"{self.objectName()}.png", "PNG images (*.png)")
        if path:
            ImageExporter(self.layout_widget.scene()).export(path)

    def _hover(self, event) -> None:
        pos = event[0]
        for plot in self.plots:
            if plot.sceneBoundingRect().contains(pos):
                p = plot.vb.mapSceneToView(pos)
                self.readout.setText(self.panels.describe(self, plot, p.x(), p.y()))
                return


class PlotPanels(QObject):
    requestLoad = Signal(int, object)
    requestExtend = Signal(int, object)
    requestMachine = Signal(float)
    requestCsv = Signal(str, object)

    def __init__(self, data_dir: DataDir, parent: QWidget) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.thread = QThread(self)
        self.thread.setObjectName("dynagui-plot-data")
        self.worker = PlotDataWorker(data_dir)
        self.worker.moveToThread(self.thread)
        self.requestLoad.connect(self.worker.load)
        self.requestExtend.connect(self.worker.extend)
        self.requestMachine.connect(self.worker.loadMachine)
        self.requestCsv.connect(self.worker.exportCsv)
        self.worker.loaded.connect(self._loaded)
        self.worker.extended.connect(self._extended)
        self.worker.machineLoaded.connect(self._machine)
        self.worker.exported.connect(self._exported)
        self.thread.start()
        self.job_ids: list[int] = []
        self.series: dict[int, JobSeries] = {}
        self._given: dict[int, dict[str, object]] = {}  # per job: what each curve was last handed
        self._generation = 0
        self._dirty = False
        self._busy = False
        self.renders = 0
        self._build()
        self._timer = QTimer(self)
        self._timer.setObjectName("plot-batch")
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._refresh)
        self._timer.start()

    # ----------------------------------------------------------------- build
    def _build(self) -> None:
        self.progress = PlotTab("progress", self)
        self.p_plot = self.progress.add_plot(0, axisItems={"bottom": pg.DateAxisItem()})
        self.p_plot.setLabel("left", "simulation time")
        self.p_plot.setLabel("bottom", "wall clock")
        self.timestep = PlotTab("timestep", self)
        self.dt_plot = self.timestep.add_plot(0)
        self.dt_plot.setLogMode(y=True)
        self.dt_plot.setLabel("left", "dt")
        self.dt_plot.setLabel("bottom", "simulation time")
        self.mass_plot = self.timestep.add_plot(1)
        self.mass_plot.setLabel("left", "added mass")
        self.mass_plot.setXLink(self.dt_plot)
        self.mass_plot.setMaximumHeight(140)
        self.mass_plot.hide()
        self.cores = PlotTab("cores", self)
        self.cpu_plot = self.cores.add_plot(0, axisItems={"bottom": pg.DateAxisItem()})
        self.cpu_plot.setLabel("left", "job CPU %")
        self.machine_plot = self.cores.add_plot(1, axisItems={"bottom": pg.DateAxisItem()})
        self.machine_plot.setLabel("left", "cores")
        self.machine_plot.setXLink(self.cpu_plot)
        self._machine_curves = {
            "core_budget": _curve(self.machine_plot, "core budget", "#999", pg.QtCore.Qt.PenStyle.DashLine),
            "cores_allocated": _curve(self.machine_plot, "cores allocated", "#3d8bfd"),
            "cpu_cores": _curve(self.machine_plot, "cores busy (all processes)", "#e0a020", width=1),
        }
        self.curves: dict[int, dict[str, pg.GraphicsObject]] = {}

    def tabs(self) -> list[tuple[str, QWidget]]:
        return [("Progress", self.progress), ("Timestep", self.timestep), ("Cores", self.cores)]

    # ------------------------------------------------------------ selection
    def show_jobs(self, job_ids: list[int]) -> None:
        if job_ids == self.job_ids:
            return
        self.job_ids = list(job_ids)
        self._generation += 1
        plot_of = {"progress": self.p_plot, "projection": self.p_plot, "end": self.p_plot, "dt": self.dt_plot,
                   "plots": self.dt_plot, "dumps": self.dt_plot, "collapse": self.dt_plot, "mass": self.mass_plot,
                   "cpu": self.cpu_plot}
        for parts in self.curves.values():
            for key, item in parts.items():
                plot_of[key].removeItem(item)
        for plot in (self.p_plot, self.dt_plot, self.mass_plot, self.cpu_plot):
            if plot.legend is not None:
                plot.legend.clear()
        self.curves.clear()
        self.series.clear()
        self._given.clear()
        if job_ids:
            self._busy = True
            self.requestLoad.emit(self._generation, list(job_ids))

    def job_progressed(self, job_id: int) -> None:
        if job_id in self.series:
            self._dirty = True

    def _visible(self) -> bool:
        return any(tab.isVisible() for _n, tab in self.tabs())

    def _refresh(self) -> None:
        if not self._visible():
            return  # no plotting work for panels nobody looks at
        if self.cores.isVisible():
            self.requestMachine.emit(time.time() - MACHINE_WINDOW_S)
        if self._dirty and not self._busy and self.series:
            self._dirty = False
            self._busy = True
            self.requestExtend.emit(self._generation, {j: (s.last_id, s.last_cpu_id) for j, s in self.series.items()})
        elif any(s.active for s in self.series.values()) and not self._busy:
            self._dirty = True  # CPU samples arrive with health passes: poll while a shown job runs

    # ------------------------------------------------------------- data in
    def _loaded(self, generation: int, series: dict[int, JobSeries]) -> None:
        self._busy = False
        if generation != self._generation:
            return
        self.series = series
        for i, (job_id, s) in enumerate(series.items()):
            self.curves[job_id] = self._make_curves(i, s)
        self._render()

    def _extended(self, generation: int, data: dict) -> None:
        self._busy = False
        if generation != self._generation:
            return
        for job_id, (cols, cpu, fields) in data.items():
            s = self.series.get(job_id)
            if s is None:
                continue
            s.extend(cols, cpu)
            s.end_time, s.eta_s, s.active = fields["end_time"], fields["eta_s"], fields["active"]
        self._render()

    def _make_curves(self, i: int, s: JobSeries) -> dict[str, pg.GraphicsObject]:
        colour = _colour(i)
        dashed = pg.QtCore.Qt.PenStyle.DashLine
        parts = {
            "progress": _curve(self.p_plot, s.label, colour),
            "projection": _curve(self.p_plot, None, colour, dashed, 1),
            "end": pg.InfiniteLine(angle=0, pen=pg.mkPen(colour, style=pg.QtCore.Qt.PenStyle.DotLine)),
            "dt": _curve(self.dt_plot, s.label, colour),
            "plots": pg.ScatterPlotItem(size=6, symbol="o", pen=pg.mkPen(colour), brush=None),
            "dumps": pg.ScatterPlotItem(size=9, symbol="s", pen=pg.mkPen(colour), brush=pg.mkBrush(colour)),
            "collapse": pg.ScatterPlotItem(size=16, symbol="t", pen=pg.mkPen("#d64545", width=2),
                                           brush=pg.mkBrush("#d64545"), name="timestep collapse" if i == 0 else None),
            "mass": _curve(self.mass_plot, s.label, colour),
            "cpu": _curve(self.cpu_plot, s.label, colour),
        }
        parts["end"].hide()  # until the end time is known: a line at 0 would read as one
        self.p_plot.addItem(parts["end"])
        for key in ("plots", "dumps", "collapse"):
            self.dt_plot.addItem(parts[key])
        return parts

    def _render(self) -> None:
        """Hand the curves what is new since the last render, and nothing else.

        Every setData makes pyqtgraph recompute bounds and the scene re-examine the
        item, which with many curves on screen is what a frame costs; marker scatters
        grow with addPoints instead of being rebuilt from all their points."""
        self.renders += 1
        any_mass = False
        for job_id, s in self.series.items():
            parts = self.curves[job_id]
            given = self._given.setdefault(job_id, {})
            n = len(s.wall)
            if given.get("samples") != n:
                given["samples"] = n
                parts["progress"].setData(s.wall, s.sim_time)
                positive = s.dt > 0
                parts["dt"].setData(s.sim_time[positive], s.dt[positive])
                if np.isfinite(s.added_mass).any():
                    ok = np.isfinite(s.added_mass)
                    parts["mass"].setData(s.sim_time[ok], s.added_mass[ok])
            any_mass = any_mass or parts["mass"].xData is not None and len(parts["mass"].xData) > 0
            if s.end_time and given.get("end") != s.end_time:
                given["end"] = s.end_time
                parts["end"].setPos(s.end_time)
                parts["end"].show()
            projection = ((s.wall[-1], s.eta_s, s.sim_time[-1], s.end_time)
                          if s.active and s.eta_s and n and s.end_time else None)
            if given.get("projection", ()) != projection:
                given["projection"] = projection
                if projection is None:
                    parts["projection"].setData([], [])
                else:
                    parts["projection"].setData([s.wall[-1], s.wall[-1] + s.eta_s], [s.sim_time[-1], s.end_time])
            for key, idx in (("plots", s.plot_writes), ("dumps", s.dump_writes), ("collapse", s.collapses)):
                done = given.get(key, 0)
                if len(idx) > done:
                    new = idx[done:]
                    new = new[s.dt[new] > 0]  # pyqtgraph scatter items take log10 values on a log axis
                    parts[key].addPoints(x=s.sim_time[new], y=np.log10(s.dt[new]))
                    given[key] = len(idx)
            if given.get("cpu") != len(s.cpu_wall):
                given["cpu"] = len(s.cpu_wall)
                parts["cpu"].setData(s.cpu_wall, s.cpu_percent)
        self.mass_plot.setVisible(any_mass)

    def _machine(self, cols: dict) -> None:
        if not len(cols["wall"]):
            return
        self._machine_curves["core_budget"].setData(cols["wall"], cols["core_budget"], stepMode=None)
        self._machine_curves["cores_allocated"].setData(cols["wall"], cols["cores_allocated"])
        self._machine_curves["cpu_cores"].setData(cols["wall"], cols["cpu_percent"] / 100.0)

    # ---------------------------------------------------------------- misc
    def describe(self, tab: PlotTab, plot: pg.PlotItem, x: float, y: float) -> str:
        if plot is self.p_plot or plot is self.cpu_plot or plot is self.machine_plot:
            when = time.strftime("%H:%M:%S", time.localtime(x)) if x > 1e8 else f"{x:.4g}"
            unit = " %" if plot is self.cpu_plot else ""
            best = self._nearest("wall", "sim_time" if plot is self.p_plot else None, x)
            return f"{when}   y = {y:.4g}{unit}" + (f"   ({best})" if best else "")
        if plot is self.dt_plot:
            best = self._nearest("sim_time", "dt", x)
            return f"t = {x:.5g}   dt = {10 ** y:.3e}" + (f"   ({best})" if best else "")
        return f"t = {x:.5g}   added mass = {y:.4g}"

    def _nearest(self, xkey: str, ykey: str | None, x: float) -> str:
        for s in self.series.values():
            xs = getattr(s, xkey)
            if ykey is None or not len(xs):
                continue
            i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
            return f"job {s.job_id}: {ykey} {getattr(s, ykey)[i]:.4g}"
        return ""

    def export_csv(self) -> None:
        if not self.job_ids:
            return
        path, _ = QFileDialog.getSaveFileName(self.parent_widget, "Export samples",
                                              csv_path_default(".", self.job_ids), "CSV (*.csv)")
        if path:
            self.requestCsv.emit(path, list(self.job_ids))

    def _exported(self, path: str, error: str) -> None:
        if error:
            QMessageBox.warning(self.parent_widget, "Export failed", f"{path}: {error}")

    def shutdown(self) -> None:
        from PySide6.QtCore import QMetaObject, Qt

        self._timer.stop()
        if self.thread.isRunning():
            QMetaObject.invokeMethod(self.worker, "close", Qt.ConnectionType.BlockingQueuedConnection)
            self.thread.quit()
            self.thread.wait(5000)
        # Layouts of panels built moments ago may still be pending; run now, not in Qt's teardown,
        # where a legend would ask its already deleted view box for its size (a RuntimeError at exit).
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
