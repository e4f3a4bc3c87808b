"""The job table's model: an adapter from engine facts to precise Qt model changes.

A job change updates exactly its row; progress, which can arrive many times a
second per job, is batched by a 150 ms timer into one `dataChanged` per changed
row covering only the progress columns. The only reset is the initial load.

The Elapsed column of active jobs is refreshed by `tick_elapsed()`, which the window
calls once a second together with its status bar, so that both repaint in one pass;
a row whose progress was just flushed (its Elapsed cell with it) is skipped, and so is
a row whose displayed text would not change. The set of active and queued jobs is kept
as it changes, so that nothing done every second walks a history of 10,000 jobs.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QColor

from dynagui.core.jobs import Job, JobStatus
from dynagui.gui.icons import status_icon
from dynagui.gui.style import STATUS_COLOURS, format_duration, status_word

JobRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2
QueuePosRole = Qt.ItemDataRole.UserRole + 3


class Column(enum.IntEnum):
    ID = 0
    DECK = 1
    STATUS = 2
    PROGRESS = 3
    SIMTIME = 4
    CYCLE = 5
    DT = 6
    CORES = 7
    SOLVER = 8
    STARTED = 9
    ELAPSED = 10
    WORKDIR = 11


HEADERS = {
    Column.ID: "#", Column.DECK: "Deck", Column.STATUS: "Status", Column.PROGRESS: "Progress",
    Column.SIMTIME: "t / end", Column.CYCLE: "Cycle", Column.DT: "dt", Column.CORES: "Cores",
    Column.SOLVER: "Solver", Column.STARTED: "Started", Column.ELAPSED: "Elapsed", Column.WORKDIR: "Working directory",
}
PROGRESS_FIELDS = {"progress", "sim_time", "end_time", "cycle", "dt", "eta_s", "log_offset", "warnings", "errors"}
_JOB_FIELDS = {f.name for f in dataclasses.fields(Job)}
_ANY = Qt.ItemDataRole.DisplayRole


def _num(v: float | None, fmt: str) -> str:
    return "" if v is None else format(v, fmt)


class JobTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._row: dict[int, int] = {}
        self._queue_pos: dict[int, int] = {}
        self._pending: dict[int, dict[str, Any]] = {}
        self._batch = QTimer(self)
        self._batch.setObjectName("job-progress-batch")
        self._batch.setInterval(150)
        self._batch.setSingleShot(True)
        self._batch.timeout.connect(self.flush_progress)
        self._active: set[int] = set()  # ids of Starting/Running/Stopping jobs
        self._queued: set[int] = set()
        self._elapsed_shown: dict[int, tuple[float, str]] = {}  # id -> (when, text) last refreshed
        self._sort_column = Column.ID
        self._sort_order = Qt.SortOrder.DescendingOrder

    # ------------------------------------------------------------ Qt model
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._jobs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _ANY) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(Column):
            return HEADERS[Column(section)]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _ANY) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._jobs)):
            return None
        job = self._jobs[index.row()]
        if role == SortRole:  # the hot roles first: sorting and filtering ask for these per row
            return self._sort_value(job, Column(index.column()))
        if role == JobRole:
            return job
        col = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(job, col)
        if role == QueuePosRole:
            return self._queue_pos.get(job.id)
        if role == Qt.ItemDataRole.DecorationRole and col == Column.STATUS:
            return status_icon(job.status)
        if role == Qt.ItemDataRole.ForegroundRole and col == Column.STATUS:
            return QColor(STATUS_COLOURS[job.status])
        if role == Qt.ItemDataRole.ToolTipRole:
            return job.reason or status_word(job.status)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (Column.ID, Column.CYCLE, Column.DT, Column.SIMTIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, job: Job, col: Column) -> str:
        if col == Column.ID:
            return str(job.id)
        if col == Column.DECK:
            return job.deck_name
        if col == Column.STATUS:
            return status_word(job.status)
        if col == Column.PROGRESS:
            return "" if job.progress is None else f"{job.progress * 100:.0f} %"
        if col == Column.SIMTIME:
            if job.sim_time is None:
                return ""
            return f"{job.sim_time:.4g} / {job.end_time:.4g}" if job.end_time else f"{job.sim_time:.4g}"
        if col == Column.CYCLE:
            return "" if job.cycle is None else str(job.cycle)
        if col == Column.DT:
            return _num(job.dt, ".2e")
        if col == Column.CORES:
            if job.status.is_active and job.cores:
                return _ranges(job.cores)
            return f"({job.ncpu})" if job.status == JobStatus.QUEUED else "-"
        if col == Column.SOLVER:
            return job.solver
        if col == Column.STARTED:
            return time.strftime("%m-%d %H:%M", time.localtime(job.started_at)) if job.started_at else ""
        if col == Column.ELAPSED:
            if not job.started_at:
                return ""
            end = job.ended_at if job.status.is_final and job.ended_at else time.time()
            return format_duration(end - job.started_at)
        if col == Column.WORKDIR:
            return job.workdir
        return ""

    def _sort_value(self, job: Job, col: Column) -> Any:
        # Called O(n log n) times when 10,000 rows are sorted: compute only the asked column.
        if col == Column.ID:
            return job.id
        if col == Column.DECK:
            return job.deck_name.lower()
        if col == Column.STATUS:
            return job.status.value
        if col == Column.PROGRESS:
            return job.progress if job.progress is not None else -1.0
        if col == Column.SIMTIME:
            return job.sim_time if job.sim_time is not None else -1.0
        if col == Column.CYCLE:
            return job.cycle or 0
        if col == Column.DT:
            return job.dt or 0.0
        if col == Column.CORES:
            return job.ncpu
        if col == Column.SOLVER:
            return job.solver
        if col == Column.STARTED:
            return job.started_at or 0.0
        if col == Column.ELAPSED:
            return ((job.ended_at or time.time()) - job.started_at) if job.started_at else 0.0
        return job.workdir.lower()

    # -------------------------------------------------------------- sorting
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorted here with list.sort and a key: a proxy sort over 10,000 rows asks Python for
        data() some 130,000 times and takes most of a second."""
        self._sort_column, self._sort_order = Column(column), order
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        ids = [self._jobs[i.row()].id if i.isValid() else None for i in persistent]
        self._sort_rows()
        self.changePersistentIndexList(persistent, [
            self.index(self._row[j], i.column()) if j is not None else i for i, j in zip(persistent, ids)])
        self.layoutChanged.emit()

    def _sort_rows(self) -> None:
        col = self._sort_column
        self._jobs.sort(key=lambda job: self._sort_value(job, col),
                        reverse=self._sort_order == Qt.SortOrder.DescendingOrder)
        self._row = {job.id: i for i, job in enumerate(self._jobs)}

    def _insert_position(self, job: Job) -> int:
        key = self._sort_value(job, self._sort_column)
        descending = self._sort_order == Qt.SortOrder.DescendingOrder
        for i, other in enumerate(self._jobs):
            other_key = self._sort_value(other, self._sort_column)
            if (key > other_key) if descending else (key < other_key):
                return i
        return len(self._jobs)

    # -------------------------------------------------------------- updates
    def reset_jobs(self, jobs: list[Job]) -> None:
        """The initial load (and only then): one reset for the whole history."""
        self.beginResetModel()
        self._jobs = list(jobs)
        self._sort_rows()
        self._pending.clear()
        self.endResetModel()
        self._active = {j.id for j in self._jobs if j.status.is_active}
        self._queued = {j.id for j in self._jobs if j.status == JobStatus.QUEUED}
        self._elapsed_shown.clear()
        self._renumber_queue()

    def upsert(self, job: Job) -> None:
        row = self._row.get(job.id)
        self._pending.pop(job.id, None)  # the snapshot is newer than any pending progress
        if row is None:
            row = self._insert_position(job)
            self.beginInsertRows(QModelIndex(), row, row)
            self._jobs.insert(row, job)
            self._row = {j.id: i for i, j in enumerate(self._jobs)}
            self.endInsertRows()
        else:
            if not job.procs and self._jobs[row].procs and job.status == self._jobs[row].status:
                job = dataclasses.replace(job, procs=self._jobs[row].procs)
            self._jobs[row] = job
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))
        self._note_status(job)
        self._renumber_queue()

    def remove(self, job_id: int) -> None:
        row = self._row.get(job_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._jobs[row]
        self._row = {job.id: i for i, job in enumerate(self._jobs)}
        self.endRemoveRows()
        self._active.discard(job_id)
        self._queued.discard(job_id)
        self._elapsed_shown.pop(job_id, None)
        self._renumber_queue()

    def apply_progress(self, job_id: int, fields: dict[str, Any]) -> None:
        """Coalesced: the table repaints at most every 150 ms however fast a solver prints."""
        self._pending.setdefault(job_id, {}).update({k: v for k, v in fields.items() if k in _JOB_FIELDS})
        if not self._batch.isActive():
            self._batch.start()

    def flush_progress(self) -> None:
        pending, self._pending = self._pending, {}
        now = time.monotonic()
        for job_id, fields in pending.items():
            row = self._row.get(job_id)
            if row is None:
                continue
            job = self._jobs[row] = dataclasses.replace(self._jobs[row], **fields)
            self.dataChanged.emit(self.index(row, Column.PROGRESS), self.index(row, Column.DT))
            if job_id in self._active:  # painted in the same pass as the progress cells
                elapsed = self.index(row, Column.ELAPSED)
                self._elapsed_shown[job_id] = (now, self._display(job, Column.ELAPSED))
                self.dataChanged.emit(elapsed, elapsed)

    def tick_elapsed(self) -> None:
        """Refresh the Elapsed cells that show a stale value (called once a second)."""
        now = time.monotonic()
        for job_id in self._active:
            shown_at, shown = self._elapsed_shown.get(job_id, (0.0, ""))
            if now - shown_at < 1.0:
                continue  # its progress flush refreshed it within the last second
            row = self._row[job_id]
            text = self._display(self._jobs[row], Column.ELAPSED)
            self._elapsed_shown[job_id] = (now, text)
            if text != shown:
                idx = self.index(row, Column.ELAPSED)
                self.dataChanged.emit(idx, idx)

    def _note_status(self, job: Job) -> None:
        (self._active.add if job.status.is_active else self._active.discard)(job.id)
        (self._queued.add if job.status == JobStatus.QUEUED else self._queued.discard)(job.id)
        if not job.status.is_active:
            self._elapsed_shown.pop(job.id, None)

    def _renumber_queue(self) -> None:
        queued = sorted((j for j in self._jobs if j.status == JobStatus.QUEUED),
                        key=lambda j: (-j.priority, j.queue_pos, j.id))
        new = {j.id: i + 1 for i, j in enumerate(queued)}
        changed = {jid for jid in set(new) | set(self._queue_pos) if new.get(jid) != self._queue_pos.get(jid)}
        self._queue_pos = new
        for jid in changed:
            row = self._row.get(jid)
            if row is not None:
                idx = self.index(row, Column.PROGRESS)
                self.dataChanged.emit(idx, idx)

    # ---------------------------------------------------------------- reads
    def job(self, job_id: int) -> Job | None:
        row = self._row.get(job_id)
        return self._jobs[row] if row is not None else None

    def row_of(self, job_id: int) -> int | None:
        return self._row.get(job_id)

    def jobs(self) -> list[Job]:
        return list(self._jobs)

    def active_jobs(self) -> list[Job]:
        """The Starting/Running/Stopping jobs, without walking the whole history."""
        return [self._jobs[self._row[j]] for j in self._active]

    def queued_count(self) -> int:
        return len(self._queued)


def _ranges(cores: tuple[int, ...]) -> str:
    cores = sorted(cores)
    parts = []
    start = prev = cores[0]
    for c in cores[1:] + [None]:  # type: ignore[list-item]
        if c is not None and c == prev + 1:
            prev = c
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if c is not None:
            start = prev = c
    return ",".join(parts)


class JobFilterProxy(QSortFilterProxyModel):
    """Status filter ("all", "active", "ended" or one status) and a text search over deck, folder, reason."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.setDynamicSortFilter(True)
        self._status = "all"
        self._text = ""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """The source model sorts (fast); this proxy keeps the source order and only filters."""
        source = self.sourceModel()
        if source is not None and column >= 0:
            source.sort(column, order)

    def set_status_filter(self, status: str) -> None:
        self._change_filter("_status", status)

    def set_text_filter(self, text: str) -> None:
        self._change_filter("_text", text.strip().lower())

    def _change_filter(self, attr: str, value: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+: invalidateFilter() is deprecated
            self.beginFilterChange()
            setattr(self, attr, value)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            setattr(self, attr, value)
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        job: Job = self.sourceModel().index(source_row, 0, source_parent).data(JobRole)
        if job is None:
            return False
        if self._status == "active" and not (job.status.is_active or job.status == JobStatus.QUEUED):
            return False
        if self._status == "ended" and not job.status.is_final:
            return False
        if self._status not in ("all", "active", "ended") and job.status.value != self._status:
            return False
        if self._text:
            hay = f"{job.id} {job.deck} {job.workdir} {job.reason} {job.solver} {job.status.value}".lower()
            return self._text in hay
        return True
