"""CPU use of each job's whole process tree and of the workstation, sampled by the health pass."""

from __future__ import annotations

import time
from typing import Any

import psutil

from dynagui.core import proctrack
from dynagui.core.jobs import Job


class CpuSampler:
    """Turns cumulative CPU seconds into percentages between two passes (100 % = one core busy)."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[float, float]] = {}
        psutil.cpu_percent(interval=None)  # primes the machine-wide counter

    def sample(self, active: list[Job], core_budget: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        now = time.time()
        rows = []
        seen = set()
        for job in active:
            seen.add(job.id)
            idents = [p.identity for p in job.procs if p.role != "shepherd"]
            cpu = proctrack.cpu_seconds(idents)
            last = self._last.get(job.id)
            self._last[job.id] = (now, cpu)
            if last is not None and now > last[0] and cpu >= last[1]:
                rows.append({"job_id": job.id, "wall": now, "cpu_percent": 100.0 * (cpu - last[1]) / (now - last[0])})
        for job_id in [j for j in self._last if j not in seen]:
            del self._last[job_id]
        machine = {"wall": now, "cores_allocated": sum(len(j.cores) for j in active), "core_budget": core_budget,
                   "cpu_percent": psutil.cpu_percent(interval=None) * (psutil.cpu_count() or 1)}
        return rows, machine
