"""Starting a job's shepherd so that it, and the solver under it, outlive the launcher.

POSIX: a new session (no controlling terminal, no signal from the launcher's
terminal or process group). Windows: CREATE_BREAKAWAY_FROM_JOB so that a job
object around the launcher (an IDE, a terminal, a scheduler) does not take the
solver down with it; where the job object forbids breakaway, Windows refuses
with ERROR_ACCESS_DENIED and we start again without it (and say so in the log),
plus CREATE_NEW_PROCESS_GROUP (no console ctrl-c) and CREATE_NO_WINDOW.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("dynagui.spawn")

CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_BREAKAWAY_FROM_JOB = 0x01000000
CREATE_NO_WINDOW = 0x08000000
ERROR_ACCESS_DENIED = 5

_WINDOWS = sys.platform == "win32"

# Shepherds we stopped listening to while they still run: they outlive the engine by
# design. Their Popen objects are kept (and polled, which reaps them once they end)
# instead of being dropped, which would make Python warn about a child left running.
_RELEASED: list[subprocess.Popen] = []


def release(popen: subprocess.Popen) -> None:
    """Stop caring about a shepherd process that may go on running."""
    if popen.stdout is not None:
        popen.stdout.close()
    if popen.poll() is None:
        _RELEASED.append(popen)


def _reap_released() -> None:
    _RELEASED[:] = [p for p in _RELEASED if p.poll() is None]


def shepherd_command(run_dir: Path) -> list[str]:
    # sys.executable, not "python3": on PATH that can be a shell shim (pyenv) that adds a process
    return [sys.executable, "-m", "dynagui.core.shepherd", str(run_dir)]


def detach_kwargs(windows: bool | None = None, breakaway: bool = True) -> dict:
    windows = _WINDOWS if windows is None else windows
    if windows:
        flags = CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW
        if breakaway:
            flags |= CREATE_BREAKAWAY_FROM_JOB
        return {"creationflags": flags}
    return {"start_new_session": True}


def start_shepherd(run_dir: Path, listen: bool = True, windows: bool | None = None) -> subprocess.Popen:
    """Start the shepherd for the run in `run_dir`; with `listen`, its reports come on a pipe."""
    windows = _WINDOWS if windows is None else windows
    _reap_released()
    err = open(run_dir / "shepherd.err", "ab")  # noqa: SIM115 - handed to the child, closed below
    common = dict(stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if listen else subprocess.DEVNULL, stderr=err,
                  close_fds=True, cwd=str(run_dir))
    try:
        try:
            return subprocess.Popen(shepherd_command(run_dir), **common, **detach_kwargs(windows, breakaway=True))
        except OSError as exc:
            if not windows or getattr(exc, "winerror", None) != ERROR_ACCESS_DENIED:
                raise
            log.warning("breakaway from the launcher's job object was refused (%s); starting the shepherd "
                        "inside it: closing the launcher's console may then end the job", exc)
            return subprocess.Popen(shepherd_command(run_dir), **common, **detach_kwargs(windows, breakaway=False))
    finally:
        err.close()
