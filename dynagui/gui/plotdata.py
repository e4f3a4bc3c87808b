"""Loading plot data off the GUI thread: samples from SQLite into numpy arrays.

The worker has its own read connection (WAL lets it read while the engine
writes) and answers each request with a generation number, so the panels drop
answers about a selection that has changed meanwhile.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from dynagui.core.paths import DataDir
from dynagui.core.store import Store, StoreError

log = logging.getLogger("dynagui.gui.plots")


@dataclass
class JobSeries:
    """One job's curves: growing arrays, extended in place by `extend`."""

    job_id: int
    label: str
    end_time: float | None = None
    eta_s: float | None = None
    active: bool = False
    last_id: int = 0
    last_cpu_id: int = 0
    wall: np.ndarray = field(default_factory=lambda: np.empty(0))
    sim_time: np.ndarray = field(default_factory=lambda: np.empty(0))
    dt: np.ndarray = field(default_factory=lambda: np.empty(0))
    added_mass: np.ndarray = field(default_factory=lambda: np.empty(0))
    plot_writes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    dump_writes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    collapses: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    cpu_wall: np.ndarray = field(default_factory=lambda: np.empty(0))
    cpu_percent: np.ndarray = field(default_factory=lambda: np.empty(0))

    def extend(self, cols: dict[str, list[Any]], cpu: list[dict[str, Any]]) -> None:
        if cols["id"]:
            offset = len(self.wall)
            self.wall = np.concatenate([self.wall, np.asarray(cols["wall"], dtype=float)])
            self.sim_time = np.concatenate([self.sim_time, np.asarray(cols["sim_time"], dtype=float)])
            self.dt = np.concatenate([self.dt, np.asarray(cols["dt"], dtype=float)])
            mass = [np.nan if m is None else m for m in cols["added_mass"]]
            self.added_mass = np.concatenate([self.added_mass, np.asarray(mass, dtype=float)])
            events = cols["event"]
            idx = np.arange(offset, offset + len(events))
            plot = np.fromiter((e is not None and "d3plot" in e for e in events), dtype=bool, count=len(events))
            dump = np.fromiter((e is not None and "d3dump" in e for e in events), dtype=bool, count=len(events))
            coll = np.fromiter((e == "dt collapse" for e in events), dtype=bool, count=len(events))
            self.plot_writes = np.concatenate([self.plot_writes, idx[plot]])
            self.dump_writes = np.concatenate([self.dump_writes, idx[dump]])
            self.collapses = np.concatenate([self.collapses, idx[coll]])
            self.last_id = cols["id"][-1]
        if cpu:
            self.cpu_wall = np.concatenate([self.cpu_wall, np.asarray([r["wall"] for r in cpu], dtype=float)])
            self.cpu_percent = np.concatenate([self.cpu_percent, np.asarray([r["cpu_percent"] for r in cpu])])
            self.last_cpu_id = cpu[-1]["id"]


class PlotDataWorker(QObject):
    loaded = Signal(int, object)  # generation, {job_id: JobSeries}
    extended = Signal(int, object)  # generation, {job_id: (cols, cpu, job fields)}
    machineLoaded = Signal(object)  # columns of machine samples
    exported = Signal(str, str)  # path, error ("" when fine)

    def __init__(self, data_dir: DataDir) -> None:
        super().__init__()
        self.data_dir = data_dir
        self._store: Store | None = None

    def _db(self) -> Store:
        if self._store is None:
            self._store = Store(self.data_dir.database)
        return self._store

    @Slot(int, object)
    def load(self, generation: int, job_ids: list[int]) -> None:
        try:
            store = self._db()
            series = {}
            for job_id in job_ids:
                job = store.find_job(job_id)
                if job is None:
                    continue
                s = JobSeries(job_id, f"{job.id} {job.deck_name}", job.end_time, job.eta_s, job.status.is_active)
                s.extend(store.sample_columns(job_id), store.cpu_samples(job_id))
                series[job_id] = s
            self.loaded.emit(generation, series)
        except StoreError as exc:
            log.warning("plot data cannot be read: %s", exc)

    @Slot(int, object)
    def extend(self, generation: int, after: dict[int, tuple[int, int]]) -> None:
        try:
            store = self._db()
            out = {}
            for job_id, (last_id, last_cpu) in after.items():
                job = store.find_job(job_id)
                if job is None:
                    continue
                out[job_id] = (store.sample_columns(job_id, last_id), store.cpu_samples(job_id, last_cpu),
                               {"end_time": job.end_time, "eta_s": job.eta_s, "active": job.status.is_active})
            self.extended.emit(generation, out)
        except StoreError as exc:
            log.warning("plot data cannot be read: %s", exc)

    @Slot(float)
    def loadMachine(self, since: float) -> None:
        try:
            rows = self._db().machine_samples(since)
        except StoreError as exc:
            log.warning("machine samples cannot be read: %s", exc)
            return
        self.machineLoaded.emit({k: np.asarray([r[k] for r in rows], dtype=float)
                                 for k in ("wall", "cores_allocated", "core_budget", "cpu_percent")})

    @Slot(str, object)
    def exportCsv(self, path: str, job_ids: list[int]) -> None:
        try:
            store = self._db()
            with open(path, "w", newline="", encoding="utf-8") as fh:
                out = csv.writer(fh)
                out.writerow(["job_id", "wall", "sim_time", "dt", "cycle", "event", "added_mass"])
                for job_id in job_ids:
                    cols = store.sample_columns(job_id)
                    for row in zip(*(cols[k] for k in ("wall", "sim_time", "dt", "cycle", "event", "added_mass"))):
                        out.writerow([job_id, *row])
            self.exported.emit(path, "")
        except (OSError, StoreError) as exc:
            self.exported.emit(path, str(exc))

    @Slot()
    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def csv_path_default(folder: str, job_ids: list[int]) -> str:
    return str(Path(folder) / f"dynagui-jobs-{'-'.join(map(str, job_ids))}.csv")
