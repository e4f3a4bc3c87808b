"""Stopping, killing and switching jobs: the steps that touch a job's processes.

Shared by the engine and by the CLI when the engine runs in another process.
Every signal goes through proctrack, which re-checks (pid, create_time) first.
The shepherd is never signalled: it sees its tree end and writes the exit record.
"""

from __future__ import annotations

import logging
import time

from dynagui.core import proctrack, sense
from dynagui.core.health import Suspect
from dynagui.core.jobs import ACTIVE, Identity, Job, JobStatus
from dynagui.core.store import Store

log = logging.getLogger("dynagui.control")


class ControlError(ValueError):
    pass


def tree_identities(job: Job, table: proctrack.ProcessTable | None = None) -> list[Identity]:
    """The job's live processes to stop: recorded ones (but the shepherd) plus any carrying its marker.

    Pass the same `table` when asking repeatedly: it then reads only new processes.
    """
    idents = {p.identity for p in job.procs if p.role != "shepherd" and not p.ended}
    for info in (table or proctrack.ProcessTable(full_every=0)).scan().values():
        if info.marker == job.uid:
            idents.add(info.identity)
    return sorted((i for i in idents if proctrack.is_alive(i)), key=lambda i: i.pid)


def request_stop(store: Store, job_id: int, kill: bool = False) -> Job:
    """Record that the user asked for the stop (the verdict depends on it), before acting."""
    job = store.find_job(job_id)
    if job is None:
        raise ControlError(f"there is no job {job_id}")
    if job.status == JobStatus.QUEUED:
        done = store.transition(job_id, JobStatus.STOPPED, "removed from the queue before it started",
                                expect=[JobStatus.QUEUED], ended_at=time.time())
        return done or store.get_job(job_id)
    if not job.status.is_active:
        raise ControlError(f"job {job_id} is not running (it is {job.status})")
    what = "kill" if kill else "stop"
    store.update_job(job_id, stop_requested=1)
    store.transition(job_id, JobStatus.STOPPING, f"{what} requested by you",
                     expect=[JobStatus.STARTING, JobStatus.RUNNING])
    return store.get_job(job_id)


def stop_ladder(store: Store, job_id: int, grace: float, kill: bool = False,
                cancelled: "callable[[], bool]" = lambda: False) -> str:
    """sw1. through d3kil, wait `grace`, terminate the tree, then kill. Returns what it did."""
    job = store.get_job(job_id)
    table = proctrack.ProcessTable(full_every=0)
    if kill:
        left = proctrack.kill(tree_identities(job, table))
        log.info("job %d killed at once (%d process(es) would not die)", job_id, len(left))
        return "killed"
    try:
        sense.write_d3kil(job.workdir, "sw1")
        log.info("job %d: wrote sw1. to %s/d3kil", job_id, job.workdir)
    except OSError as exc:
        log.warning("job %d: cannot write d3kil (%s); terminating instead", job_id, exc)
        grace = 0.0
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not cancelled():
        idents = tree_identities(store.get_job(job_id), table)
        if not idents:
            return "stopped by sense switch"
        proctrack.wait_any(idents, min(0.5, max(0.0, deadline - time.monotonic())))
    if cancelled():
        return "cancelled"
    idents = tree_identities(store.get_job(job_id), table)
    if not idents:
        return "stopped by sense switch"
    log.warning("job %d did not stop within %.0f s of sw1.; terminating %s", job_id, grace,
                ", ".join(str(i.pid) for i in idents))
    left = proctrack.terminate(idents, grace=5.0)
    if left:
        log.error("job %d: processes %s survived kill", job_id, [i.pid for i in left])
    return "terminated after the grace time"


def send_switch(store: Store, job_id: int, switch: str) -> str:
    job = store.find_job(job_id)
    if job is None:
        raise ControlError(f"there is no job {job_id}")
    if job.status not in ACTIVE:
        raise ControlError(f"job {job_id} is not running (it is {job.status}); sense switches need a running solver")
    try:
        token = sense.normalise(switch)
    except sense.SwitchError as exc:
        raise ControlError(str(exc)) from exc
    sense.write_d3kil(job.workdir, token)
    if token.startswith("endtime="):
        store.update_job(job_id, end_time=float(token.split("=", 1)[1]))
    log.info("job %d: wrote %s to %s/d3kil", job_id, token, job.workdir)
    return token


def kill_suspects(suspects: list[Suspect]) -> list[Suspect]:
    """Kill ghosts (or untracked solvers the user chose), each re-checked first. Returns those killed."""
    killed = []
    for s in suspects:
        proc = proctrack.process_for(s.identity)
        if proc is None:
            continue
        if s.kind == "ghost" and proctrack.read_marker(proc) != s.marker:
            continue  # not the process the report was about
        left = proctrack.terminate([s.identity], grace=3.0)
        if not left:
            killed.append(s)
            log.warning("killed %s process %s (PID %d, started %s): %s", s.kind, s.name, s.identity.pid,
                        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.identity.create_time)), s.why)
    return killed
