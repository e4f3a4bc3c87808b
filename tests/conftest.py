"""Shared fixtures: temporary data folders, sample decks, and a guard against leftover processes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable

import psutil
import pytest

from dynagui.core.engine import Engine
from dynagui.core.paths import DataDir

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
REAL = SHARED / "fixtures" / "lsdyna-real"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def real_file(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real LS-DYNA fixture {name} not found: ../shared/fixtures/lsdyna-real is absent")
    return path


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    """Poll a condition (processes and files give no other signal); fail with `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def write_deck(folder: Path, name: str = "deck.k", end_time: float = 0.01, scenario: str = "wall=2",
               extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    deck = folder / name
    deck.write_text(
        "*KEYWORD\n"
        f"$ dynagui-sim: {scenario}\n"
        "*CONTROL_TERMINATION\n"
        "$#  endtim    endcyc     dtmin    endeng    endmas\n"
        f"{end_time:>10.4g}         0       0.0       0.0       0.0\n"
        "*DATABASE_BINARY_D3PLOT\n"
        f"{end_time / 10:>10.4g}\n"
        f"{extra}"
        "*END\n", encoding="utf-8")
    return deck


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data").ensure()


@pytest.fixture
def deck_factory(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(10_000))

    def make(scenario: str = "wall=2", end_time: float = 0.01, folder: str | None = None, **kw: str) -> Path:
        return write_deck(tmp_path / (folder or f"job{next(counter)}"), scenario=scenario, end_time=end_time, **kw)

    return make


@pytest.fixture
def engine(data_dir: DataDir):
    eng = Engine(data_dir, health_interval=0.5)
    eng.settings.save(eng.store, core_budget=4)
    eng.start()
    yield eng
    eng.close()


def _ours(proc: psutil.Process, root: str) -> bool:
    try:
        if any(root in part for part in proc.cmdline()):
            return True
        return proc.cwd().startswith(root)
    except (psutil.Error, OSError):
        return False


@pytest.fixture(autouse=True)
def no_leftover_processes(tmp_path: Path):
    """Fail a test that leaves a process of its own running (found by its folder), after killing it."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    root = str(tmp_path)
    deadline = time.monotonic() + 8.0
    leftovers: list[psutil.Process] = []
    while True:
        leftovers = [p for p in psutil.process_iter() if p.pid != os.getpid() and _ours(p, root)]
        leftovers += [p for p in psutil.Process().children(recursive=True) if p.pid not in before
                      and p.status() != psutil.STATUS_ZOMBIE and p not in leftovers]
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if leftovers:
        desc = [(p.pid, " ".join(p.cmdline())[:120]) for p in leftovers if p.is_running()]
        for p in leftovers:
            try:
                p.kill()
            except psutil.Error:
                pass
        if desc:
            pytest.fail(f"test left processes running: {desc}")


sys.path.insert(0, str(REPO / "tests"))
