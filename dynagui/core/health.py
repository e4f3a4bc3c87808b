"""One health pass: the database's active jobs against the live process table.

It finds (a) active jobs none of whose processes is alive any more (to be
finalized), (b) marked processes of active jobs not yet recorded (adopted after a
restart, or found before the shepherd reported them), (c) ghosts: processes
carrying a DynaGUI marker whose job is not active or unknown, and (d) untracked
solvers: processes running a configured solver executable with no marker and no
recorded identity. It decides nothing irreversible: the engine acts on the report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dynagui.core import proctrack
from dynagui.core.jobs import Identity, Job, ProcRecord
from dynagui.core.solver import SolverProfile

log = logging.getLogger("dynagui.health")


@dataclass(frozen=True)
class Suspect:
    """A process that holds (or may hold) a licence and cores without a job watching it."""

    kind: str  # "ghost" | "untracked"
    identity: Identity
    name: str
    cmdline: tuple[str, ...]
    job_id: int | None
    marker: str | None
    why: str

    def as_public_dict(self) -> dict[str, Any]:
        return {"pid": self.identity.pid, "create_time": self.identity.create_time, "name": self.name,
                "cmdline": " ".join(self.cmdline), "argv": list(self.cmdline), "job_id": self.job_id,
                "kind": self.kind, "why": self.why}


@dataclass
class HealthReport:
    at: float
    duration_s: float
    ghosts: list[Suspect] = field(default_factory=list)
    untracked: list[Suspect] = field(default_factory=list)
    dead_jobs: list[int] = field(default_factory=list)
    found: dict[int, list[ProcRecord]] = field(default_factory=dict)
    processes: int = 0

    @property
    def suspects(self) -> list[Suspect]:
        return self.ghosts + self.untracked


class HealthChecker:
    """Keeps the incremental process table between passes; one owner thread."""

    def __init__(self) -> None:
        self.table = proctrack.ProcessTable()
        self._solver_match: dict[Identity, bool] = {}

    def run(self, active: list[Job], profiles: Iterable[SolverProfile], known: set[tuple[int, float]],
            uid_to_job: Callable[[str], tuple[int, str] | None], tag: str | None = None) -> HealthReport:
        """One pass; `tag` is this data folder's marker prefix (markers of other folders are theirs)."""
        t0 = time.perf_counter()
        procs = self.table.scan()
        report = HealthReport(at=time.time(), duration_s=0.0, processes=len(procs))
        live = {(i.identity.pid, i.identity.create_time) for i in procs.values()}
        active_uids = {job.uid: job for job in active}
        profiles = list(profiles)

        for job in active:
            # present in the table is not enough: a killed process stays a zombie until reaped
            idents = [p.identity for p in job.procs if (p.identity.pid, p.identity.create_time) in live]
            if not any(proctrack.is_alive(i) for i in idents):
                report.dead_jobs.append(job.id)

        match_cache = self._solver_match
        for ident in [i for i in match_cache if (i.pid, i.create_time) not in live]:
            del match_cache[ident]
        for info in procs.values():
            ident = info.identity
            if info.marker:
                job = active_uids.get(info.marker)
                if job is not None:
                    if (ident.pid, ident.create_time) not in known:
                        role = "solver" if any(p.matches(list(info.cmdline)) for p in profiles) else "helper"
                        report.found.setdefault(job.id, []).append(
                            ProcRecord(ident, role, info.name, info.cmdline[0] if info.cmdline else ""))
                    continue
                other_tag, sep, _rest = info.marker.partition("-")
                if tag and sep and other_tag != tag:
                    continue  # a job of another DynaGUI data folder: its own engine watches it
                owner = uid_to_job(info.marker)
                why = (f"carries the marker of job {owner[0]}, which is {owner[1]}" if owner
                       else "carries a DynaGUI marker of a job this database does not know")
                report.ghosts.append(Suspect("ghost", ident, info.name, info.cmdline, owner[0] if owner else None,
                                             info.marker, why))
                continue
            is_solver = match_cache.get(ident)
            if is_solver is None:
                is_solver = match_cache[ident] = any(p.matches(list(info.cmdline)) for p in profiles)
            if is_solver and (ident.pid, ident.create_time) not in known:
                report.untracked.append(Suspect("untracked", ident, info.name, info.cmdline, None, None,
                                                "runs a configured solver but was not started by DynaGUI"))
        report.duration_s = time.perf_counter() - t0
        return report
