"""Jobs and their lifecycle.

    queued -> starting -> running -> finished   (normal termination banner, no stop asked)
                  |          |  \\-> failed     (error banner, crash, licence failure, process died)
                  |          \\--> stopping -> stopped / finished / failed
                  \\-> failed / stopped
A job in a final state may be relaunched: it goes back to queued (a new attempt,
same row; the events table keeps the history).
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynagui.core.runfiles import RunFiles


class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"
    FAILED = "failed"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value

    @property
    def is_active(self) -> bool:
        """A solver may be alive: the job holds cores and is watched."""
        return self in ACTIVE

    @property
    def is_final(self) -> bool:
        return self in FINAL


ACTIVE = frozenset({JobStatus.STARTING, JobStatus.RUNNING, JobStatus.STOPPING})
FINAL = frozenset({JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED})

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.STARTING, JobStatus.STOPPED, JobStatus.FAILED}),
    JobStatus.STARTING: frozenset({JobStatus.RUNNING, JobStatus.STOPPING} | FINAL),
    JobStatus.RUNNING: frozenset({JobStatus.STOPPING} | FINAL),
    JobStatus.STOPPING: FINAL,
    JobStatus.FINISHED: frozenset({JobStatus.QUEUED}),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED}),
    JobStatus.STOPPED: frozenset({JobStatus.QUEUED}),
}


class TransitionError(ValueError):
    pass


def check_transition(old: JobStatus, new: JobStatus) -> None:
    if new not in TRANSITIONS[old]:
        raise TransitionError(f"a job cannot go from {old} to {new}")


_STATUS_OF = {s.value: s for s in JobStatus}


@functools.lru_cache(maxsize=4096)
def _json_tuple(text: str | None) -> tuple[Any, ...]:
    """A stored JSON list as a tuple. Cores like "[0, 1]" and empty lists repeat across
    thousands of rows of history; the tuples are immutable, so one decode serves them all."""
    return tuple(json.loads(text)) if text and text != "[]" else ()


@dataclass(frozen=True)
class Identity:
    """A process as DynaGUI knows it: a PID alone is never enough (PIDs are reused)."""

    pid: int
    create_time: float

    def as_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "create_time": self.create_time}


@dataclass(frozen=True)
class ProcRecord:
    identity: Identity
    role: str  # shepherd | launcher | helper | solver
    name: str = ""
    exe: str = ""
    ended: bool = False


@dataclass(frozen=True)
class Job:
    """A frozen snapshot of one job row; the store hands these out, nobody mutates them."""

    id: int
    uid: str
    deck: str
    workdir: str
    solver: str
    ncpu: int
    memory: str | None
    status: JobStatus
    reason: str = ""
    priority: int = 0
    submitted_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    cores: tuple[int, ...] = ()
    extra_args: tuple[str, ...] = ()
    stop_requested: bool = False
    attempt: int = 0
    log_path: str | None = None
    log_offset: int = 0
    progress: float | None = None
    sim_time: float | None = None
    end_time: float | None = None
    cycle: int | None = None
    dt: float | None = None
    eta_s: float | None = None
    command: tuple[str, ...] = ()
    warnings: int = 0
    errors: int = 0
    queue_pos: float = 0.0
    run_dir: str | None = None
    restart_from: str | None = None
    procs: tuple[ProcRecord, ...] = field(default=(), compare=False)

    @property
    def solver_pids(self) -> list[int]:
        return [p.identity.pid for p in self.procs if p.role == "solver"]

    def run_dir_files(self) -> RunFiles:
        # a job that never launched has no run folder: point at one that cannot exist
        return RunFiles(Path(self.run_dir) if self.run_dir else Path("/nonexistent-dynagui-run"))

    @property
    def deck_name(self) -> str:
        return self.deck.replace("\\", "/").rsplit("/", 1)[-1]

    @classmethod
    def from_row(cls, row: Mapping[str, Any], procs: tuple[ProcRecord, ...] = ()) -> "Job":
        # Snapshots are built by the ten thousand when a window opens on a long history: filling
        # the instance dict skips the frozen dataclass's object.__setattr__ per field (3x faster).
        # Every field is named here (a test checks it), so no default is silently left out.
        job = object.__new__(cls)
        job.__dict__.update(
            id=row["id"],
            uid=row["uid"],
            deck=row["deck"],
            workdir=row["workdir"],
            solver=row["solver"],
            ncpu=row["ncpu"],
            memory=row["memory"],
            status=_STATUS_OF[row["status"]],
            reason=row["reason"] or "",
            priority=row["priority"] or 0,
            submitted_at=row["submitted_at"] or 0.0,
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            exit_code=row["exit_code"],
            cores=_json_tuple(row["cores"]),
            extra_args=_json_tuple(row["extra_args"]),
            stop_requested=bool(row["stop_requested"]),
            attempt=row["attempt"] or 0,
            log_path=row["log_path"],
            log_offset=row["log_offset"] or 0,
            progress=row["progress"],
            sim_time=row["sim_time"],
            end_time=row["end_time"],
            cycle=row["cycle"],
            dt=row["dt"],
            eta_s=row["eta_s"],
            command=_json_tuple(row["command"]),
            warnings=row["warnings"] or 0,
            errors=row["errors"] or 0,
            queue_pos=row["queue_pos"] or 0.0,
            run_dir=row["run_dir"],
            restart_from=row["restart_from"],
            procs=procs,
        )
        return job

    def as_public_dict(self) -> dict[str, Any]:
        """The JSON shape of `dynagui show --json` and `list --json` (a script contract)."""
        return {
            "id": self.id,
            "uid": self.uid,
            "deck": self.deck,
            "status": self.status.value,
            "reason": self.reason,
            "progress": self.progress,
            "sim_time": self.sim_time,
            "end_time": self.end_time,
            "cycle": self.cycle,
            "dt": self.dt,
            "eta_s": self.eta_s,
            "solver_pids": self.solver_pids,
            "cores": list(self.cores),
            "ncpu": self.ncpu,
            "memory": self.memory,
            "solver": self.solver,
            "priority": self.priority,
            "workdir": self.workdir,
            "log": self.log_path,
            "submitted_at": self.submitted_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "exit_code": self.exit_code,
            "attempt": self.attempt,
            "warnings": self.warnings,
            "errors": self.errors,
            "command": list(self.command),
            "processes": [
                {"pid": p.identity.pid, "create_time": p.identity.create_time, "role": p.role, "name": p.name,
                 "ended": p.ended}
                for p in self.procs
            ],
        }
