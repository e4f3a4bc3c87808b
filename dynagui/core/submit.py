"""Checking a submission before anything is written, and the data folder's settings.

Bad input gets one message naming what is wrong; nothing is stored until every
check has passed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynagui.core.scheduler import default_budget
from dynagui.core.solver import ProfileError, SolverProfile, builtin_profiles, parse_memory
from dynagui.core.store import Store

DECK_SUFFIXES = (".k", ".key", ".dyn", ".kw", ".inp")


class SubmitError(ValueError):
    """The submission is not valid; the message says what to change."""


@dataclass
class Settings:
    core_budget: int = field(default_factory=default_budget)
    health_interval: float = 5.0
    stop_grace: float = 30.0
    disk_warn_gb: float = 5.0
    auto_kill_ghosts: bool = False
    notifications: bool = True
    stall_after_s: float = 600.0

    @classmethod
    def load(cls, store: Store) -> "Settings":
        s = cls()
        for key in s.__dataclass_fields__:
            value = store.get_setting(key)
            if value is not None:
                setattr(s, key, type(getattr(s, key))(value))
        return s

    def save(self, store: Store, **changes: Any) -> None:
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise KeyError(key)
            setattr(self, key, value)
            store.set_setting(key, value)


def all_profiles(store: Store) -> dict[str, SolverProfile]:
    profiles = builtin_profiles()
    for name, data in store.solver_profiles().items():
        try:
            profiles[name] = SolverProfile.from_dict({**data, "name": name})
        except ProfileError:
            continue
    return profiles


def check_writable(folder: Path) -> None:
    """Really try to create a file: os.access says yes to root on a read-only mount."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".dynagui-probe-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise SubmitError(f"working directory {folder} is not writable ({exc.strerror}); "
                          "LS-DYNA writes its results there: choose another with --workdir") from exc


def validate(store: Store, deck: str, solver: str = "simulator", ncpu: int = 1, memory: str | None = None,
             workdir: str | None = None, priority: int = 0, extra_args: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """Return the job row to insert and warnings, or raise SubmitError."""
    deck_path = Path(deck).expanduser()
    if not deck_path.exists():
        raise SubmitError(f"deck {deck} does not exist")
    if not deck_path.is_file():
        raise SubmitError(f"deck {deck} is not a file")
    try:
        with open(deck_path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise SubmitError(f"deck {deck} cannot be read ({exc.strerror})") from exc
    deck_path = deck_path.resolve()
    profiles = all_profiles(store)
    if solver not in profiles:
        raise SubmitError(f"unknown solver {solver!r}; known: {', '.join(sorted(profiles))} (see `dynagui solvers list`)")
    settings = Settings.load(store)
    if not isinstance(ncpu, int) or ncpu < 1:
        raise SubmitError(f"ncpu must be at least 1, not {ncpu}")
    if ncpu > settings.core_budget:
        raise SubmitError(f"ncpu {ncpu} is more than the core budget of {settings.core_budget} "
                          "(raise it with `dynagui serve --cores N`)")
    try:
        memory = parse_memory(memory)
    except ProfileError as exc:
        raise SubmitError(str(exc)) from exc
    folder = Path(workdir).expanduser() if workdir else deck_path.parent
    if not folder.is_dir():
        raise SubmitError(f"working directory {folder} does not exist")
    folder = folder.resolve()
    check_writable(folder)
    if any(not a for a in extra_args):
        raise SubmitError("extra arguments must not be empty strings")
    warnings = []
    free_gb = shutil.disk_usage(folder).free / 1e9
    if free_gb < settings.disk_warn_gb:
        warnings.append(f"only {free_gb:.1f} GB free on the disk of {folder} (warning threshold "
                        f"{settings.disk_warn_gb:g} GB): LS-DYNA may fail when it fills up")
    row = {
        "uid": store.new_uid(), "deck": str(deck_path), "workdir": str(folder), "solver": solver,
        "ncpu": ncpu, "memory": memory, "priority": int(priority), "extra_args": list(extra_args),
    }
    return row, warnings


def submit(store: Store, **kwargs: Any) -> tuple[Any, list[str]]:
    row, warnings = validate(store, **kwargs)
    return store.insert_job(row), warnings
