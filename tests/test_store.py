"""The store: transitions with their events, and clear errors for a broken environment."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dynagui.core.jobs import JobStatus, TransitionError
from dynagui.core.paths import DataDir
from dynagui.core.store import SCHEMA_VERSION, Store, StoreError


def _row(deck: str = "/x/a.k") -> dict:
    return {"uid": os.urandom(8).hex(), "deck": deck, "workdir": "/x", "solver": "simulator", "ncpu": 1}


def test_schema_version_wal_and_transition_history(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.journal_mode == "wal"
    job = store.insert_job(_row())
    assert store.transition(job.id, JobStatus.STARTING, "go") is not None
    assert store.transition(job.id, JobStatus.STARTING, "again", expect=[JobStatus.QUEUED]) is None
    with pytest.raises(TransitionError):
        store.transition(job.id, JobStatus.QUEUED, "back")
    assert store.transition(job.id, JobStatus.FAILED, "process died", expect=[JobStatus.STARTING]).reason == "process died"
    assert [(e["from_status"], e["to_status"]) for e in store.events(job.id)] == [
        (None, "queued"), ("queued", "starting"), ("starting", "failed")]
    store.close()


def test_a_failed_transaction_leaves_no_half_written_rows(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    job = store.insert_job(_row())
    with pytest.raises(StoreError):
        store.transition(job.id, JobStatus.STARTING, "go", no_such_column=1)
    assert store.get_job(job.id).status == JobStatus.QUEUED
    assert len(store.events(job.id)) == 1
    store.close()


def test_damaged_database_is_a_clear_error_and_is_left_alone(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data").ensure()
    garbage = b"this is not an SQLite file at all\n" * 200
    data.database.write_bytes(garbage)
    r = subprocess.run([sys.executable, "-m", "dynagui", "--data-dir", str(data.root), "list"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "damaged" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert data.database.read_bytes() == garbage


def test_locked_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    Store(path).close()
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked"):
            store = Store(path, busy_timeout_ms=200)
            store.insert_job(_row())
    finally:
        holder.rollback()
        holder.close()


def _make_read_only(folder: Path) -> list[Path]:
    paths = [folder, *folder.iterdir()]
    if os.geteuid() == 0:
        for p in paths:
            if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode != 0:
                pytest.skip("running as root and chattr +i is not supported here")
    else:
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
    return paths


def _undo_read_only(paths: list[Path]) -> None:
    for p in paths:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(p)], capture_output=True)
        else:
            p.chmod(0o755 if p.is_dir() else 0o644)


def test_read_only_database_is_a_clear_error(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data").ensure()
    store = Store(data.database)
    store.insert_job(_row())
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    for extra in data.root.glob("dynagui.db-*"):
        extra.unlink()
    paths = _make_read_only(data.root)
    try:
        with pytest.raises(StoreError) as err:
            s = Store(data.database)
            s.insert_job(_row())
        assert str(data.database) in str(err.value)
    finally:
        _undo_read_only(paths)


def test_plot_columns_thin_a_long_run_but_keep_every_event_and_the_newest_sample(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    job = store.insert_job(_row())
    samples = [{"wall": float(i), "sim_time": i * 1e-6, "dt": 1e-6, "cycle": i,
                "event": "d3plot" if i in (7, 1234, 4001) else None} for i in range(5003)]
    store.add_samples(job.id, samples[:3000])
    store.add_samples(job.id, samples[3000:])  # numbering goes on across batches
    cols = store.sample_columns(job.id, max_points=500)
    assert cols["id"] == sorted(cols["id"]) and len(set(cols["id"])) == len(cols["id"])
    assert 250 <= len(cols["id"]) <= 500 + 3 + 1  # every 16th sample, plus the events and the newest
    plain = [c for c in cols["cycle"] if c not in (7, 1234, 4001, 5002)]
    assert all((c + 1) % 16 == 0 for c in plain)  # evenly spaced: the job's 16th, 32nd, ... sample
    assert {7, 1234, 4001} <= set(cols["cycle"]) and cols["cycle"][-1] == 5002
    whole = store.sample_columns(job.id)          # under the limit: every sample, in order
    assert whole["cycle"] == list(range(5003))
    later = store.sample_columns(job.id, after_id=whole["id"][-3])
    assert later["cycle"] == [5001, 5002]
    store.close()


def test_thinning_is_even_for_each_of_two_jobs_whose_samples_interleave(tmp_path: Path) -> None:
    # Two running jobs write their samples turn by turn: a test on the global row id would
    # pick all of one job's samples and none of the other's.
    store = Store(tmp_path / "db.sqlite")
    a, b = store.insert_job(_row("/x/a.k")), store.insert_job(_row("/x/b.k"))
    for i in range(4000):
        store.record_progress([(a.id, {"cycle": i}, [{"wall": float(i), "sim_time": i, "dt": 1e-6, "cycle": i}]),
                               (b.id, {"cycle": i}, [{"wall": float(i), "sim_time": i, "dt": 1e-6, "cycle": i}])])
    for job in (a, b):
        cycles = store.sample_columns(job.id, max_points=1000)["cycle"]
        assert 500 <= len(cycles) <= 1001
        gaps = {y - x for x, y in zip(cycles, cycles[1:-1])}
        assert gaps == {4}, gaps
    assert store.get_job(a.id).cycle == 3999
    store.close()


def test_a_schema_3_database_gets_sample_strides_on_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    conn = sqlite3.connect(path)  # the samples table as schema 3 had it, with rows of two jobs
    conn.executescript("""
        create table jobs (id integer primary key, uid text, deck text, workdir text, solver text, ncpu int,
                           status text);
        create table samples (id integer primary key, job_id int, wall float, sim_time float, dt float,
                              cycle int, cpu float, event text, added_mass float);
        pragma user_version = 3;""")
    conn.executemany("insert into samples (job_id, wall, sim_time, dt, cycle) values (?, ?, ?, ?, ?)",
                     [(1 + i % 2, i, i, 1e-6, i) for i in range(10)])
    conn.commit()
    conn.close()
    store = Store(path)
    strides = store.db.execute("select job_id, stride from samples order by id").fetchall()
    assert [s for j, s in strides if j == 1] == [1, 2, 1, 4, 1]
    assert [s for j, s in strides if j == 2] == [1, 2, 1, 4, 1]
    store.close()


def test_a_job_read_back_has_every_field_and_behaves_as_a_frozen_snapshot(tmp_path: Path) -> None:
    import dataclasses

    from dynagui.core.jobs import Job

    store = Store(tmp_path / "db.sqlite")
    job = store.insert_job({**_row(), "cores": [0, 1], "command": ["ls-dyna", "i=a.k"], "extra_args": []})
    assert set(vars(job)) == {f.name for f in dataclasses.fields(Job)}
    same = Job(**{f.name: getattr(job, f.name) for f in dataclasses.fields(Job)})
    assert same == job and job.cores == (0, 1) and job.command == ("ls-dyna", "i=a.k") and job.extra_args == ()
    assert job.status is JobStatus.QUEUED and job.reason == "" and job.priority == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.status = JobStatus.RUNNING  # type: ignore[misc]
    assert dataclasses.replace(job, ncpu=4).ncpu == 4
    store.close()
