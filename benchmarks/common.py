"""Shared pieces: a figure with its statistics, temporary data folders, waiting."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    name: str
    unit: str
    ours: float
    baseline: float | None
    budget: str  # as DESIGN.md states it, e.g. "< 100"
    samples: list[float] = field(default_factory=list)
    baseline_label: str = ""
    note: str = ""
    lower_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.ours == 0:
            return None
        return self.baseline / self.ours if self.lower_is_better else self.ours / self.baseline

    @property
    def within_budget(self) -> bool | None:
        b = self.budget.strip()
        try:
            if b.startswith("<"):
                return self.ours < float(b[1:])
            if b.startswith(">="):
                return self.ours >= float(b[2:])
        except ValueError:
            return None
        return None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("samples")
        s = self.samples or [self.ours]
        d.update(ratio=self.ratio, within_budget=self.within_budget, min=min(s), median=statistics.median(s),
                 max=max(s), n=len(self.samples))
        return d


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    return {"cores_logical": psutil.cpu_count(), "cores_physical": psutil.cpu_count(logical=False),
            "memory_gb": round(psutil.virtual_memory().total / 1e9, 1), "python": platform.python_version(),
            "platform": platform.platform(), "processes": len(psutil.pids())}


def temp_dir(prefix: str) -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix=f"dynagui-bench-{prefix}-")


def wait_for(predicate: Callable[[], object], timeout: float, poll: float = 0.005) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(poll)


def write_deck(folder: Path, scenario: str, end_time: float = 0.02) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    deck = folder / "bench.k"
    deck.write_text(f"*KEYWORD\n$ dynagui-sim: {scenario}\n*CONTROL_TERMINATION\n{end_time:>10.4g}\n"
                    f"*DATABASE_BINARY_D3PLOT\n{end_time / 10:>10.4g}\n*END\n")
    return deck


def dynagui(data_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dynagui", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
