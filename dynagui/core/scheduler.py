"""Cores: a budget of core slots, allocated to jobs as specific indices.

Slots map to logical CPUs physical-cores-first (the first hyper-thread of every
core before any second one), so two 2-core jobs on a 4-core/8-thread machine do
not share cores. Affinity is applied only when every slot of a job maps to a CPU
of its own; a budget larger than the machine (tests, oversubscription) just
counts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import psutil


def default_budget() -> int:
    return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1


def physical_first_order() -> list[int]:
    """Logical CPU indices, one per physical core first, then their siblings."""
    try:
        allowed = sorted(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except AttributeError:
        allowed = list(range(psutil.cpu_count() or 1))
    firsts: list[int] = []
    others: list[int] = []
    seen: set[str] = set()
    for cpu in allowed:
        siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            key = siblings.read_text().strip()
        except OSError:
            key = str(cpu)
        (others if key in seen else firsts).append(cpu)
        seen.add(key)
    return firsts + others


def allocate(ncpu: int, budget: int, in_use: Iterable[int]) -> list[int] | None:
    """The lowest `ncpu` free slots, or None when fewer are free."""
    used = set(in_use)
    free = [slot for slot in range(budget) if slot not in used]
    return free[:ncpu] if len(free) >= ncpu else None


def affinity_for(cores: list[int], order: list[int] | None = None) -> list[int] | None:
    order = physical_first_order() if order is None else order
    if not cores or max(cores) >= len(order):
        return None
    return [order[slot] for slot in cores]
