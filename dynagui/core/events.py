"""What the engine tells its listeners (the GUI, the CLI): plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dynagui.core.jobs import Job


@dataclass(frozen=True)
class EngineEvent:
    kind: str  # "job-changed" | "jobs-progress" | "health" | "job-stalled"
    job: Job | None = None
    report: Any = None  # a HealthReport for "health"
    # for "jobs-progress": {job_id: changed progress fields}, every job one tailing pass moved on
    data: Any = None
