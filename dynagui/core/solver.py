"""Solver profiles: which executable, how it is launched, and how its processes are recognised.

A command is always an argument list handed to the OS, never a shell string, so a
deck path with spaces, quotes, `&`, `;`, `%` or non-ASCII letters is just a path.
A solver process is recognised by its exact executable (and, for the simulator,
its exact module argument), never by a substring of its name: `dynamo.exe` is
not LS-DYNA.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mMgG]?)\s*$")
_WINDOWS = sys.platform == "win32"


class ProfileError(ValueError):
    pass


@dataclass(frozen=True)
class SolverProfile:
    name: str
    executable: str
    parallel: str = "smp"  # "smp" | "mpp"
    precision: str = "double"
    solver_args: tuple[str, ...] = ()  # tokens right after the executable (e.g. "-m", "dynagui.simulator")
    mpi_launcher: tuple[str, ...] = ()  # e.g. ("mpiexec", "-np", "{ncpu}")
    extra_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    builtin: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("solver_args", "mpi_launcher", "extra_args"):
            d[key] = list(d[key])
        d.pop("builtin")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SolverProfile":
        parallel = d.get("parallel", "smp")
        if parallel not in ("smp", "mpp"):
            raise ProfileError(f"solver profile {d.get('name')!r}: parallel must be smp or mpp, not {parallel!r}")
        if not d.get("executable"):
            raise ProfileError(f"solver profile {d.get('name')!r} has no executable")
        return cls(
            name=d["name"], executable=d["executable"], parallel=parallel, precision=d.get("precision", "double"),
            solver_args=tuple(d.get("solver_args", ())), mpi_launcher=tuple(d.get("mpi_launcher", ())),
            extra_args=tuple(d.get("extra_args", ())), env=dict(d.get("env", {})),
        )

    # --------------------------------------------------------------- command
    def command(self, deck: str, ncpu: int, memory: str | None, extra: tuple[str, ...] = (),
                restart: str | None = None) -> list[str]:
        """The argument list that runs `deck` (an absolute path) with this profile.

        With `restart` (a d3dump file) it is LS-DYNA's simple restart: `r=` instead of `i=`.
        """
        solver = [self.executable, *self.solver_args, f"r={restart}" if restart else f"i={deck}"]
        if self.parallel == "smp":
            solver.append(f"ncpu={ncpu}")
        if memory:
            solver.append(f"memory={memory}")
        solver += [*self.extra_args, *extra]
        if self.parallel == "mpp":
            launcher = [a.replace("{ncpu}", str(ncpu)) for a in self.mpi_launcher]
            return [*launcher, *solver]
        return solver

    # ----------------------------------------------------------- recognition
    def matches(self, cmdline: list[str]) -> bool:
        """True when a process's command line runs this profile's solver executable itself."""
        if not cmdline:
            return False
        if _exe_key(cmdline[0]) != _exe_key(self.executable):
            return False
        n = len(self.solver_args)
        return tuple(cmdline[1 : 1 + n]) == self.solver_args

    def resolve_executable(self) -> str | None:
        """The full path the executable resolves to, or None when it cannot be found."""
        if os.path.isabs(self.executable):
            return self.executable if os.path.isfile(self.executable) else None
        return shutil.which(self.executable)


def _exe_key(path: str) -> str:
    """Executables compare by file name; on Windows without case and without `.exe`."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    if _WINDOWS or name.lower().endswith(".exe"):
        name = name.lower()
        if name.endswith(".exe"):
            name = name[:-4]
    return name


def builtin_profiles() -> dict[str, SolverProfile]:
    """Profiles that work with no LS-DYNA installed: the simulator, SMP and MPP."""
    py = sys.executable
    sim = ("-m", "dynagui.simulator")
    return {
        "simulator": SolverProfile("simulator", py, "smp", solver_args=sim, builtin=True),
        # A wrapper that exits at once, leaving mpiexec -> proxy -> ranks behind: the tree
        # that produced ghosts in launchers which watched the wrapper's PID.
        "simulator-mpp": SolverProfile(
            "simulator-mpp", py, "mpp", solver_args=sim,
            mpi_launcher=(py, "-m", "dynagui.simulator.mpiexec", "--detach", "-np", "{ncpu}"), builtin=True),
    }


def parse_memory(text: str | None) -> str | None:
    """Validate LS-DYNA's `memory=` value (words, optional m/g suffix); returns it normalised."""
    if text is None or text == "":
        return None
    m = _MEMORY.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise ProfileError(f"memory {text!r} is not a size LS-DYNA understands: use words like 20m, 400m, 2g or 500000")
    return f"{m.group(1)}{m.group(2).lower()}"


def deck_keywords_end_time(deck: Path) -> float | None:
    """ENDTIM from the deck's *CONTROL_TERMINATION (first field of its first data card)."""
    try:
        with open(deck, encoding="utf-8", errors="replace") as fh:
            in_term = False
            for line in fh:
                if line.startswith("$"):
                    continue
                if line.startswith("*"):
                    in_term = line.strip().upper().startswith("*CONTROL_TERMINATION")
                    continue
                if in_term and line.strip():
                    field0 = line.split(",")[0] if "," in line else line[:10]
                    try:
                        return float(field0.strip())
                    except ValueError:
                        return None
    except OSError:
        return None
    return None
