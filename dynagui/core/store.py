"""The job database: SQLite through sqlite-utils, WAL, one lock per connection.

Every write that changes a job's status also writes its event row in the same
transaction, so the history is never half-written. Environment troubles (a
damaged file, a lock held too long, a read-only folder) become `StoreError`
with a message a user can act on; bugs stay bugs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import logging
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from dynagui.core.jobs import Identity, Job, JobStatus, ProcRecord, check_transition
from dynagui.core.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger("dynagui.store")

BUSY_TIMEOUT_MS = 5000


SAMPLE_FIELDS = ("wall", "sim_time", "dt", "cycle", "event", "added_mass")
_INSERT_SAMPLE = (f"insert into samples (job_id, {', '.join(SAMPLE_FIELDS)}, stride) "
                  f"values ({', '.join('?' * (len(SAMPLE_FIELDS) + 2))})")


class StoreError(RuntimeError):
    """A database problem caused by the environment, with a message for the user."""


def _explain(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text:
        msg = (f"The job database {path} is damaged ({exc}). Nothing was changed. Move the file aside "
               "(DynaGUI then starts a fresh one) or restore it from a backup.")
    elif "locked" in text or "busy" in text:
        msg = (f"The job database {path} is locked by another program ({exc}). Close the other DynaGUI "
               "or tool using it and try again.")
    elif "readonly" in text or "read-only" in text:
        msg = f"The job database {path} is read-only ({exc}). Make the file and its folder writable, or use --data-dir."
    elif "unable to open" in text:
        msg = f"The job database {path} cannot be opened ({exc}). Check that its folder exists and is writable."
    elif "disk" in text and "full" in text:
        msg = f"The disk holding {path} is full ({exc}). Free some space and try again; nothing was lost."
    else:
        msg = f"The job database {path} reported an error: {exc}"
    return StoreError(msg)


@contextlib.contextmanager
def _setup_lock(db_path: Path) -> Iterator[None]:
    """One process at a time sets a database up (WAL switch, migrations).

    An engine and a CLI submit may open a new database in the same instant; SQLite
    answers some of those races with an immediate "database is locked" instead of
    waiting, so the first open is serialised with an OS file lock beside the file.
    """
    lock_path = db_path.with_name(db_path.name + ".setup-lock")
    with open(lock_path, "a+b") as fh:
        if sys.platform == "win32":
            import msvcrt

            fh.seek(0)
            deadline = time.monotonic() + 30
            while True:
                try:
                    msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            try:
                yield
            finally:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class Store:
    """One connection, used from any thread under a lock (the single owner of writes)."""

    def __init__(self, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_ms / 1000
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=busy_timeout_ms / 1000)
            self.db = sqlite_utils.Database(conn)
            self.db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            # WAL with NORMAL sync cannot corrupt the file; a power cut may lose the last commits
            # (progress samples) but the solver's own files still tell the outcome.
            self.db.execute("PRAGMA synchronous=NORMAL")
            with _setup_lock(self.path):
                self._migrate()
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from exc
        except OSError as exc:
            raise StoreError(f"The data folder {self.path.parent} cannot be used ({exc}). Choose another with --data-dir.") from exc

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"The job database {self.path} was written by a newer DynaGUI (schema {version}); "
                             "update DynaGUI or use another --data-dir.")
        if version == SCHEMA_VERSION:
            return
        self._enable_wal()
        # Two processes may open a new database at once (an engine and a CLI submit):
        # take the write lock first, then look again at what the other one did.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for v in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[v](self.db)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        log.info("database %s migrated from schema %d to %d", self.path, version, SCHEMA_VERSION)

    def _enable_wal(self) -> None:
        """Switch a new database to WAL. The switch needs the file to itself and SQLite does
        not wait for that (no busy handler), so a second process opening it at the same
        moment retries for a while instead of failing."""
        deadline = time.monotonic() + self._busy_timeout_s
        while True:
            try:
                if self.db.journal_mode != "wal":
                    self.db.enable_wal()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction that takes the write lock first (BEGIN IMMEDIATE).

        A deferred transaction that reads and then writes fails at once with "database is
        locked" when another process committed in between (WAL snapshot); an immediate one
        waits for the lock (busy_timeout) and reads the newest data.
        """
        with self._lock:
            conn = self.db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _explain(self.path, exc) from exc
            try:
                yield self.db
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise _explain(self.path, exc) from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            try:
                return list(self.db.query(sql, params))
            except sqlite3.Error as exc:
                raise _explain(self.path, exc) from exc

    @property
    def marker_tag(self) -> str:
        """Starts every job uid of this data folder, so that another data folder's jobs
        (a demo beside the real one) are never taken for ghosts of ours."""
        return hashlib.sha1(str(self.path.parent.resolve()).encode()).hexdigest()[:8]

    def new_uid(self) -> str:
        return f"{self.marker_tag}-{secrets.token_hex(12)}"

    def data_version(self) -> int:
        """Changes when another connection commits: a cheap 'anything new?' test."""
        with self._lock:
            return self.db.execute("PRAGMA data_version").fetchone()[0]

    # -------------------------------------------------------------- settings
    def get_setting(self, key: str, default: Any = None) -> Any:
        rows = self._query("select value from settings where key = ?", [key])
        return json.loads(rows[0]["value"]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        with self._tx() as db:
            db["settings"].upsert({"key": key, "value": json.dumps(value)}, pk="key")

    # --------------------------------------------------------------- solvers
    def solver_profiles(self) -> dict[str, dict[str, Any]]:
        return {r["name"]: json.loads(r["profile"]) for r in self._query("select * from solvers")}

    def save_solver_profile(self, name: str, profile: dict[str, Any]) -> None:
        with self._tx() as db:
            db["solvers"].upsert({"name": name, "profile": json.dumps(profile)}, pk="name")

    def remove_solver_profile(self, name: str) -> bool:
        with self._tx() as db:
            return db.execute("delete from solvers where name = ?", [name]).rowcount > 0

    # ------------------------------------------------------------------ jobs
    def insert_job(self, fields: dict[str, Any], reason: str = "submitted") -> Job:
        row = dict(fields)
        for key in ("cores", "extra_args", "command"):
            if key in row and not isinstance(row[key], str):
                row[key] = json.dumps(list(row[key]))
        now = time.time()
        row.setdefault("submitted_at", now)
        row.setdefault("status", JobStatus.QUEUED.value)
        with self._tx() as db:
            if "queue_pos" not in row:
                top = db.execute("select coalesce(max(queue_pos), 0) from jobs").fetchone()[0]
                row["queue_pos"] = top + 1
            job_id = db["jobs"].insert(row).last_pk
            db["events"].insert({"job_id": job_id, "time": now, "from_status": None,
                                 "to_status": row["status"], "reason": reason})
        return self.get_job(job_id)

    def get_job(self, job_id: int) -> Job:
        rows = self._query("select * from jobs where id = ?", [job_id])
        if not rows:
            raise KeyError(job_id)
        return Job.from_row(rows[0], self._procs_of([job_id]).get(job_id, ()))

    def find_job(self, job_id: int) -> Job | None:
        try:
            return self.get_job(job_id)
        except KeyError:
            return None

    def job_by_uid(self, uid: str) -> Job | None:
        rows = self._query("select * from jobs where uid = ?", [uid])
        if not rows:
            return None
        return Job.from_row(rows[0], self._procs_of([rows[0]["id"]]).get(rows[0]["id"], ()))

    def list_jobs(self, statuses: Iterable[JobStatus] | None = None, limit: int | None = None) -> list[Job]:
        sql = "select * from jobs"
        params: list[Any] = []
        if statuses is not None:
            st = [s.value for s in statuses]
            sql += f" where status in ({','.join('?' * len(st))})"
            params += st
        sql += " order by id"
        if limit:
            sql += f" limit {int(limit)}"
        rows = self._query(sql, params)
        procs = self._procs_of([r["id"] for r in rows]) if rows and (statuses is not None or len(rows) < 2000) else {}
        return [Job.from_row(r, procs.get(r["id"], ())) for r in rows]

    def queued_jobs(self) -> list[Job]:
        """The queue in launch order: priority first (higher first), then queue position."""
        rows = self._query("select * from jobs where status = 'queued' order by priority desc, queue_pos, id")
        return [Job.from_row(r) for r in rows]

    def _procs_of(self, job_ids: list[int]) -> dict[int, tuple[ProcRecord, ...]]:
        if not job_ids:
            return {}
        out: dict[int, list[ProcRecord]] = {}
        for chunk_start in range(0, len(job_ids), 500):
            chunk = job_ids[chunk_start : chunk_start + 500]
            rows = self._query(
                f"select p.* from procs p join jobs j on j.id = p.job_id and p.attempt = j.attempt "
                f"where p.job_id in ({','.join('?' * len(chunk))}) order by p.id", chunk)
            for r in rows:
                out.setdefault(r["job_id"], []).append(ProcRecord(
                    Identity(r["pid"], r["create_time"]), r["role"], r["name"] or "", r["exe"] or "",
                    r["ended_at"] is not None))
        return {k: tuple(v) for k, v in out.items()}

    def transition(self, job_id: int, new: JobStatus, reason: str, expect: Iterable[JobStatus] | None = None,
                   **fields: Any) -> Job | None:
        """Move a job to `new` and record why, atomically.

        Returns None (and changes nothing) when the job is no longer in one of the
        `expect`ed states: whoever got there first decided, which is how a job is
        finalized exactly once even when a waiter and a health pass race.
        """
        for key in ("cores", "command"):
            if key in fields and not isinstance(fields[key], str):
                fields[key] = json.dumps(list(fields[key]))
        with self._tx() as db:
            row = db.execute("select status from jobs where id = ?", [job_id]).fetchone()
            if row is None:
                raise KeyError(job_id)
            old = JobStatus(row[0])
            if expect is not None and old not in set(expect):
                return None
            if old == new:
                return None
            check_transition(old, new)
            fields.update(status=new.value, reason=reason)
            sets = ", ".join(f"{k} = ?" for k in fields)
            db.execute(f"update jobs set {sets} where id = ?", [*fields.values(), job_id])
            db["events"].insert({"job_id": job_id, "time": time.time(), "from_status": old.value,
                                 "to_status": new.value, "reason": reason})
        return self.get_job(job_id)

    def update_job(self, job_id: int, **fields: Any) -> None:
        """Change fields that are not the status (progress, queue order, ncpu...)."""
        for key in ("cores", "extra_args", "command"):
            if key in fields and not isinstance(fields[key], str):
                fields[key] = json.dumps(list(fields[key]))
        with self._tx() as db:
            sets = ", ".join(f"{k} = ?" for k in fields)
            db.execute(f"update jobs set {sets} where id = ?", [*fields.values(), job_id])

    def update_queued(self, job_id: int, **fields: Any) -> bool:
        """Change a job only while it is still queued; False when it has started meanwhile."""
        with self._tx() as db:
            sets = ", ".join(f"{k} = ?" for k in fields)
            cur = db.execute(f"update jobs set {sets} where id = ? and status = 'queued'", [*fields.values(), job_id])
            return cur.rowcount > 0

    def remove_job(self, job_id: int) -> bool:
        """Delete a job that cannot have a live solver, with its history."""
        with self._tx() as db:
            cur = db.execute("delete from jobs where id = ? and status in ('queued','finished','failed','stopped')",
                             [job_id])
            if cur.rowcount == 0:
                return False
            for table in ("events", "procs", "samples", "cpu_samples"):
                db.execute(f"delete from {table} where job_id = ?", [job_id])
        return True

    def events(self, job_id: int) -> list[dict[str, Any]]:
        return self._query("select * from events where job_id = ? order by id", [job_id])

    # ------------------------------------------------------------- processes
    def add_procs(self, job_id: int, attempt: int, records: Iterable[ProcRecord]) -> int:
        """Record process identities (known ones are kept, but may become the solver). Returns how many changed."""
        now = time.time()
        added = 0
        with self._tx() as db:
            for rec in records:
                # a process first seen between fork and exec is re-reported as the solver it became
                cur = db.execute(
                    "insert into procs (job_id, attempt, pid, create_time, role, name, exe, found_at) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (job_id, pid, create_time) do update set "
                    "role = excluded.role, name = excluded.name, exe = excluded.exe "
                    "where excluded.role = 'solver' and procs.role != 'solver'",
                    [job_id, attempt, rec.identity.pid, rec.identity.create_time, rec.role, rec.name, rec.exe, now])
                added += cur.rowcount
        return added

    def mark_procs_ended(self, job_id: int, identities: Iterable[Identity]) -> None:
        now = time.time()
        with self._tx() as db:
            for ident in identities:
                db.execute("update procs set ended_at = ? where job_id = ? and pid = ? and create_time = ? "
                           "and ended_at is null", [now, job_id, ident.pid, ident.create_time])

    def all_known_identities(self) -> set[tuple[int, float]]:
        """Every (pid, create_time) ever recorded: a process in here is never 'untracked'."""
        return {(r["pid"], r["create_time"]) for r in self._query("select pid, create_time from procs")}

    # --------------------------------------------------------------- samples
    def record_progress(self, batch: list[tuple[int, dict[str, Any], list[dict[str, Any]]]]) -> None:
        """Progress fields and new samples of several jobs in one transaction."""
        if not batch:
            return
        with self._tx() as db:
            for job_id, fields, samples in batch:
                sets = ", ".join(f"{k} = ?" for k in fields)
                db.execute(f"update jobs set {sets} where id = ?", [*fields.values(), job_id])
                self._insert_samples(db, job_id, samples)

    def add_samples(self, job_id: int, samples: list[dict[str, Any]]) -> None:
        if samples:
            with self._tx() as db:
                self._insert_samples(db, job_id, samples)

    @staticmethod
    def _insert_samples(db: sqlite_utils.Database, job_id: int, samples: list[dict[str, Any]]) -> None:
        """Append samples with their stride (see `_v4`), inside the caller's transaction.

        This runs every second for every running job, on the engine thread that shares the
        interpreter with the GUI: one prepared statement for all rows costs a quarter of
        what a generic `insert_all` spends working out columns and quoting per call."""
        if not samples:
            return
        unknown = set().union(*samples) - set(SAMPLE_FIELDS)
        if unknown:
            raise ValueError(f"unknown sample fields {sorted(unknown)}")
        row = db.execute("select samples_count from jobs where id = ?", [job_id]).fetchone()
        first = (row[0] if row else 0) + 1
        db.conn.executemany(_INSERT_SAMPLE, [(job_id, *(s.get(k) for k in SAMPLE_FIELDS), n & -n)
                                             for n, s in enumerate(samples, first)])
        db.execute("update jobs set samples_count = ? where id = ?", [first - 1 + len(samples), job_id])

    def samples(self, job_id: int, last: int | None = None) -> list[dict[str, Any]]:
        if last:
            rows = self._query("select * from samples where job_id = ? order by id desc limit ?", [job_id, last])
            rows.reverse()
            return rows
        return self._query("select * from samples where job_id = ? order by id", [job_id])

    def samples_after(self, job_id: int, after_id: int, limit: int = 200_000) -> list[dict[str, Any]]:
        """Samples newer than `after_id` (for plots that grow)."""
        return self._query("select * from samples where job_id = ? and id > ? order by id limit ?",
                           [job_id, after_id, limit])

    def add_cpu_samples(self, rows: list[dict[str, Any]], machine: dict[str, Any] | None) -> None:
        with self._tx() as db:
            if rows:
                db["cpu_samples"].insert_all(rows)
            if machine:
                db["machine_samples"].insert(machine)

    def cpu_samples(self, job_id: int, after_id: int = 0) -> list[dict[str, Any]]:
        return self._query("select * from cpu_samples where job_id = ? and id > ? order by id", [job_id, after_id])

    def machine_samples(self, since: float) -> list[dict[str, Any]]:
        return self._query("select * from machine_samples where wall >= ? order by id", [since])

    def sample_columns(self, job_id: int, after_id: int = 0, max_points: int = 50_000) -> dict[str, list[Any]]:
        """A job's samples as columns (what plots want), read with a plain cursor.

        A long run may hold millions of samples, far more points than a plot has pixels:
        beyond `max_points`, every 2**k-th sample of the job is read through the stride
        index (never a scan of them all), plus every sample that marks an event (file
        writes, timestep collapse; a partial index) and the newest one.
        """
        names = ("id", "wall", "sim_time", "dt", "cycle", "event", "added_mass")
        select = f"select {', '.join(names)} from samples"
        with self._lock:
            try:
                conn = self.db.conn
                if after_id:  # the samples since the last read: counting them costs what reading them does
                    count = conn.execute("select count(*) from samples where job_id = ? and id > ?",
                                         [job_id, after_id]).fetchone()[0]
                else:
                    count = (conn.execute("select samples_count from jobs where id = ?", [job_id]).fetchone()
                             or (0,))[0]
                step = 1
                while count > max_points * step:
                    step *= 2
                if step == 1:
                    rows = conn.execute(select + " where job_id = ? and id > ? order by id",
                                        [job_id, after_id]).fetchall()
                else:  # the ids come from indexes alone; then one lookup per row read
                    rows = conn.execute(
                        select + " where id in ("
                        " select id from samples where job_id = :job and id > :after and stride >= :step"
                        " union all select id from samples where job_id = :job and id > :after and event is not null"
                        " union all select max(id) from samples where job_id = :job and id > :after) order by id",
                        {"job": job_id, "after": after_id, "step": step}).fetchall()
            except sqlite3.Error as exc:
                raise _explain(self.path, exc) from exc
        if not rows:
            return {n: [] for n in names}
        return dict(zip(names, (list(c) for c in zip(*rows))))
