"""The job database's tables and indexes, one migration per schema version.

`PRAGMA user_version` holds the version; `Store` runs the missing migrations in
one write transaction when it opens a database.
"""

from __future__ import annotations

import sqlite_utils

SCHEMA_VERSION = 4


def _v1(db: sqlite_utils.Database) -> None:
    db["settings"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["solvers"].create({"name": str, "profile": str}, pk="name", if_not_exists=True)
    db["jobs"].create(
        {
            "id": int, "uid": str, "deck": str, "workdir": str, "solver": str, "ncpu": int, "memory": str,
            "extra_args": str, "status": str, "reason": str, "priority": int, "queue_pos": float,
            "submitted_at": float, "started_at": float, "ended_at": float, "exit_code": int, "cores": str,
            "stop_requested": int, "attempt": int, "log_path": str, "log_offset": int, "command": str,
            "run_dir": str, "progress": float, "sim_time": float, "end_time": float, "cycle": int, "dt": float,
            "eta_s": float, "warnings": int, "errors": int, "verdict": str, "restart_from": str,
        },
        pk="id", not_null={"uid", "deck", "workdir", "solver", "ncpu", "status"},
        defaults={"reason": "", "priority": 0, "stop_requested": 0, "attempt": 0, "log_offset": 0,
                  "warnings": 0, "errors": 0, "cores": "[]", "extra_args": "[]", "command": "[]"},
        if_not_exists=True,
    )
    db["jobs"].create_index(["uid"], unique=True, if_not_exists=True)
    db["jobs"].create_index(["status"], if_not_exists=True)
    db["events"].create(
        {"id": int, "job_id": int, "time": float, "from_status": str, "to_status": str, "reason": str},
        pk="id", if_not_exists=True,
    )
    db["events"].create_index(["job_id"], if_not_exists=True)
    db["procs"].create(
        {"id": int, "job_id": int, "attempt": int, "pid": int, "create_time": float, "role": str, "name": str,
         "exe": str, "found_at": float, "ended_at": float},
        pk="id", if_not_exists=True,
    )
    db["procs"].create_index(["job_id", "pid", "create_time"], unique=True, if_not_exists=True)
    db["samples"].create(
        {"id": int, "job_id": int, "wall": float, "sim_time": float, "dt": float, "cycle": int, "cpu": float,
         "event": str},
        pk="id", if_not_exists=True,
    )
    db["samples"].create_index(["job_id", "id"], if_not_exists=True)


def _v2(db: sqlite_utils.Database) -> None:
    """CPU use over time: per job (its whole process tree) and for the workstation."""
    db["cpu_samples"].create({"id": int, "job_id": int, "wall": float, "cpu_percent": float}, pk="id",
                             if_not_exists=True)
    db["cpu_samples"].create_index(["job_id", "id"], if_not_exists=True)
    db["machine_samples"].create({"id": int, "wall": float, "cores_allocated": int, "core_budget": int,
                                  "cpu_percent": float}, pk="id", if_not_exists=True)
    db["machine_samples"].create_index(["wall"], if_not_exists=True)
    if "added_mass" not in db["samples"].columns_dict:
        db["samples"].add_column("added_mass", float)


def _v3(db: sqlite_utils.Database) -> None:
    """Plots read a long job's events apart from its thinned samples: index just those rows."""
    db.execute("create index if not exists samples_events on samples (job_id, id) where event is not null")


def _v4(db: sqlite_utils.Database) -> None:
    """Thinned reads by index: each sample's `stride` is the largest power of two that divides
    its number within the job (1, 2, 1, 4, 1, 2, 1, 8, ...), so `stride >= 2**k` picks every
    2**k-th sample of that job alone (an `id % n` test aliases when jobs interleave their rows)."""
    db["samples"].add_column("stride", int)
    # kept with each insert, so that choosing the stride for a job costs no count over its samples
    db["jobs"].add_column("samples_count", int, not_null_default=0)
    db.execute("""update samples set stride = (r.n & -r.n)
                  from (select id, row_number() over (partition by job_id order by id) as n from samples) as r
                  where samples.id = r.id""")
    db.execute("update jobs set samples_count = (select count(*) from samples where samples.job_id = jobs.id)")
    db.execute("create index if not exists samples_stride on samples (job_id, stride, id)")


MIGRATIONS = {1: _v1, 2: _v2, 3: _v3, 4: _v4}
