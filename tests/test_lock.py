"""One engine per data folder; a crashed holder's lock is taken over."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dynagui.core.engine import Engine
from dynagui.core.lock import EngineBusy, EngineLock
from dynagui.core.paths import DataDir


def test_second_engine_refuses_clearly(data_dir: DataDir) -> None:
    first = Engine(data_dir).start()
    try:
        with pytest.raises(EngineBusy, match="already owns"):
            _other_process_lock(data_dir)
    finally:
        first.close()


def _other_process_lock(data_dir: DataDir) -> None:
    r = subprocess.run([sys.executable, "-c", (
        "import sys; from pathlib import Path; from dynagui.core.lock import EngineLock, EngineBusy\n"
        f"try:\n EngineLock(Path({str(data_dir.lock_file)!r})).acquire()\nexcept EngineBusy as e:\n"
        " print(e); sys.exit(3)")], capture_output=True, text=True, timeout=60)
    if r.returncode == 3:
        raise EngineBusy(data_dir.lock_file, json.loads(data_dir.lock_file.read_text()))
    raise AssertionError(f"the second process got the lock: {r.stdout} {r.stderr}")


def test_stale_lock_of_a_dead_or_reused_pid_is_taken_over(data_dir: DataDir) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    data_dir.lock_file.write_text(json.dumps({"pid": int(dead.stdout), "create_time": 1.0, "kind": "serve"}))
    lock = EngineLock(data_dir.lock_file)
    lock.acquire()
    assert lock.held and json.loads(data_dir.lock_file.read_text())["pid"] != int(dead.stdout)
    lock.release()
    assert not data_dir.lock_file.exists()
    # PID 1 exists, but it is not the process that wrote this lock (other create_time)
    data_dir.lock_file.write_text(json.dumps({"pid": 1, "create_time": 12.5, "kind": "serve"}))
    lock.acquire()
    lock.release()
