"""Queue operations: order, priority, cores, relaunch and removal of jobs that are not running."""

from __future__ import annotations

from dynagui.core.jobs import Job, JobStatus
from dynagui.core.store import Store
from dynagui.core.submit import Settings


class QueueError(ValueError):
    pass


def _queued(store: Store, job_id: int) -> Job:
    job = store.find_job(job_id)
    if job is None:
        raise QueueError(f"there is no job {job_id}")
    if job.status != JobStatus.QUEUED:
        raise QueueError(f"job {job_id} is {job.status}; only queued jobs can be changed")
    return job


def move(store: Store, job_id: int, steps: int) -> bool:
    """Move a queued job `steps` places (negative = towards the front). False when it cannot move."""
    _queued(store, job_id)
    order = [j for j in store.queued_jobs()]
    index = next(i for i, j in enumerate(order) if j.id == job_id)
    target = max(0, min(len(order) - 1, index + steps))
    if target == index:
        return False
    job = order.pop(index)
    order.insert(target, job)
    neighbour = order[target + 1] if target + 1 < len(order) else order[target - 1]
    # It takes the priority of the place it moves to, so the queue order really is the shown order.
    with store._tx() as db:
        for pos, j in enumerate(order, start=1):
            db.execute("update jobs set queue_pos = ? where id = ? and status = 'queued'", [pos, j.id])
        db.execute("update jobs set priority = ? where id = ? and status = 'queued'", [neighbour.priority, job_id])
    return True


def set_priority(store: Store, job_id: int, priority: int) -> None:
    _queued(store, job_id)
    if not store.update_queued(job_id, priority=int(priority)):
        raise QueueError(f"job {job_id} has just started")


def set_ncpu(store: Store, job_id: int, ncpu: int) -> None:
    _queued(store, job_id)
    budget = Settings.load(store).core_budget
    if ncpu < 1 or ncpu > budget:
        raise QueueError(f"ncpu must be between 1 and the core budget of {budget}")
    if not store.update_queued(job_id, ncpu=int(ncpu)):
        raise QueueError(f"job {job_id} has just started")


def relaunch(store: Store, job_id: int, restart_from: str | None = None) -> Job:
    """Queue an ended job again: a new attempt of the same row, its history kept."""
    job = store.find_job(job_id)
    if job is None:
        raise QueueError(f"there is no job {job_id}")
    if not job.status.is_final:
        raise QueueError(f"job {job_id} is {job.status}; only ended jobs can be relaunched")
    reason = f"restart from {restart_from} requested by you" if restart_from else "relaunched by you"
    store.transition(job_id, JobStatus.QUEUED, reason, expect=[job.status], stop_requested=0,
                     restart_from=restart_from)
    return store.get_job(job_id)


def remove(store: Store, job_id: int) -> None:
    job = store.find_job(job_id)
    if job is None:
        raise QueueError(f"there is no job {job_id}")
    if job.status.is_active:
        raise QueueError(f"job {job_id} is {job.status}; stop it before removing it")
    store.remove_job(job_id)
