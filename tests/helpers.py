"""Test helpers around a real engine: waiting on its events instead of sleeping."""

from __future__ import annotations

import threading
import time

from dynagui.core.engine import Engine
from dynagui.core.events import EngineEvent
from dynagui.core.jobs import Job, JobStatus


class JobWatch:
    """Wakes up on the engine's job events; the store stays the source of truth."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cond = threading.Condition()
        self.events: list[EngineEvent] = []
        engine.subscribe(self._on_event)

    def _on_event(self, event: EngineEvent) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait(self, job_id: int, predicate, timeout: float = 30.0, what: str = "job state") -> Job:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                job = self.engine.store.get_job(job_id)
                if predicate(job):
                    return job
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; job {job_id} is {job.status}: {job.reason}")
                self.cond.wait(min(left, 0.5))

    def running(self, job_id: int, timeout: float = 30.0) -> Job:
        return self.wait(job_id, lambda j: j.status == JobStatus.RUNNING and j.solver_pids, timeout, "running")

    def final(self, job_id: int, timeout: float = 60.0) -> Job:
        return self.wait(job_id, lambda j: j.status.is_final, timeout, "the end of the job")
