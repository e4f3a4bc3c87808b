"""From a job's log to its progress fields and plot samples, at a bounded rate.

One `LogTailer` per active job. Progress lines can arrive by the hundred
thousand; the store gets one sample per job and second of solver time stamps at
most, plus every file write (d3plot/d3dump markers for the plots) and the
timestep-collapse flag.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from dynagui.core.events import EngineEvent
from dynagui.core.jobs import Job
from dynagui.core.output import DtCollapse, Progress, RunSummary, stamp_epoch
from dynagui.core.store import Store
from dynagui.core.tail import LogTailer

log = logging.getLogger("dynagui.progress")

SAMPLE_EVERY_S = 1.0


class ProgressRecorder:
    def __init__(self, store: Store, emit: Callable[[Any], None], stall_after_s: float = 600.0) -> None:
        self.store = store
        self.emit = emit
        self.stall_after_s = stall_after_s
        self._tailers: dict[int, LogTailer] = {}
        self._last_sample: dict[int, float] = {}
        self._last_growth: dict[int, float] = {}
        self._stalled: set[int] = set()
        self._lock = threading.RLock()

    def track(self, job: Job) -> None:
        with self._lock:
            if job.id not in self._tailers and job.log_path:
                self._tailers[job.id] = LogTailer(job.log_path, job.deck, resume_offset=job.log_offset)
                self._last_growth[job.id] = time.monotonic()

    def summary(self, job_id: int) -> RunSummary | None:
        with self._lock:
            tailer = self._tailers.get(job_id)
            return tailer.parser.summary if tailer else None

    def poll_all(self) -> None:
        with self._lock:
            batch = []
            for job_id, tailer in list(self._tailers.items()):
                events = tailer.poll()
                now = time.monotonic()
                if events:
                    self._last_growth[job_id] = now
                    self._stalled.discard(job_id)
                    batch.append((job_id, *self._digest(job_id, tailer, events)))
                elif now - self._last_growth.get(job_id, now) > self.stall_after_s and job_id not in self._stalled:
                    self._stalled.add(job_id)
                    self._emit_stalled(job_id)
            self.store.record_progress(batch)  # all jobs in one transaction
        if batch:  # one event for the pass: listeners (the GUI) wake once, not once per job
            self.emit(EngineEvent("jobs-progress", data={job_id: fields for job_id, fields, _s in batch}))

    def _emit_stalled(self, job_id: int) -> None:
        log.warning("job %d printed nothing for %.0f s", job_id, self.stall_after_s)
        self.emit(EngineEvent("job-stalled", job=self.store.find_job(job_id)))

    def finish(self, job: Job) -> RunSummary:
        """The job's processes are gone: read the log to its end and return the verdict's basis."""
        with self._lock:
            tailer = self._tailers.pop(job.id, None)
            if tailer is None:
                tailer = LogTailer(job.log_path, job.deck, resume_offset=job.log_offset) if job.log_path else None
            if tailer is None:
                return RunSummary(ended=True)
            events = tailer.finish()
            self._record(job.id, tailer, events)
            self._last_sample.pop(job.id, None)
            self._last_growth.pop(job.id, None)
            self._stalled.discard(job.id)
            return tailer.parser.summary

    def set_end_time(self, job_id: int, end_time: float) -> None:
        with self._lock:
            tailer = self._tailers.get(job_id)
            if tailer:
                tailer.parser.set_end_time_override(end_time)

    def flush_all(self) -> None:
        with self._lock:
            for job_id, tailer in self._tailers.items():
                self.store.update_job(job_id, log_offset=tailer.offset)

    def _record(self, job_id: int, tailer: LogTailer, events: list[Any]) -> None:
        fields, samples = self._digest(job_id, tailer, events)
        self.store.record_progress([(job_id, fields, samples)])
        self.emit(EngineEvent("jobs-progress", data={job_id: fields}))

    def _digest(self, job_id: int, tailer: LogTailer, events: list[Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The job fields and the (rate-bounded) samples that a batch of parser events makes."""
        last = self._last_sample.get(job_id, 0.0)
        added_mass = tailer.parser.summary.added_mass
        samples = []
        for ev in events:
            if isinstance(ev, Progress):
                wall = stamp_epoch(ev.stamp) or time.time()
                heartbeat = ev.event.startswith("flush")
                if heartbeat and wall - last < SAMPLE_EVERY_S:
                    continue
                last = wall
                samples.append({"wall": wall, "sim_time": ev.t, "dt": ev.dt, "cycle": ev.cycle,
                                "event": None if heartbeat else ev.event, "added_mass": added_mass})
            elif isinstance(ev, DtCollapse):
                samples.append({"wall": time.time(), "sim_time": ev.t, "dt": ev.dt, "cycle": ev.cycle,
                                "event": "dt collapse"})
        self._last_sample[job_id] = last
        s = tailer.parser.summary
        eta = tailer.parser.eta_seconds()
        fields = {"log_offset": tailer.offset, "progress": s.progress, "sim_time": s.sim_time, "end_time": s.end_time,
                  "cycle": s.cycle, "dt": s.dt, "eta_s": eta, "warnings": s.warnings, "errors": s.errors}
        return fields, samples
