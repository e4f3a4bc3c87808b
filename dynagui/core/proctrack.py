"""Process identities, the marker scan, waiting and tree kills (psutil).

A process is (pid, create_time). Nothing here signals, reports or adopts a PID
whose create_time differs from the recorded one: a reused PID belongs to someone
else. Reading another user's environment raises AccessDenied; that is tolerated
everywhere (such a process simply carries no marker we can see).
"""

from __future__ import annotations

import logging
import os
import select
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

from dynagui.core.jobs import Identity

log = logging.getLogger("dynagui.proctrack")

MARKER_VAR = "DYNAGUI_JOB"
_CT_TOLERANCE = 0.005  # create_time is derived from boot time + ticks: equal for one process
_HAS_PIDFD = hasattr(os, "pidfd_open")


def identity_of(pid: int) -> Identity | None:
    try:
        return Identity(pid, psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


# psutil.Process objects of identities already verified once. A watched job's processes are
# checked several times a pass (alive? CPU?); a kept object re-checks itself with psutil's
# own (pid, start ticks) test, a third of the cost of verifying a wall-clock create_time anew.
_verified: dict[Identity, psutil.Process] = {}
_VERIFIED_MAX = 4096


def process_for(ident: Identity) -> psutil.Process | None:
    """The live process with exactly this identity, or None (gone, zombie, or PID reused)."""
    proc = _verified.get(ident)
    try:
        if proc is None:
            proc = psutil.Process(ident.pid)
            if abs(proc.create_time() - ident.create_time) > _CT_TOLERANCE:
                return None
            if len(_verified) >= _VERIFIED_MAX:
                _verified.clear()
            _verified[ident] = proc
        elif not proc.is_running():  # False too when the PID now belongs to another process
            _verified.pop(ident, None)
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            _verified.pop(ident, None)
            return None
        return proc
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        _verified.pop(ident, None)
        return None


def is_alive(ident: Identity) -> bool:
    return process_for(ident) is not None


def read_marker(proc: psutil.Process) -> str | None:
    try:
        return proc.environ().get(MARKER_VAR)
    except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess, OSError):
        return None


def verified(idents: Iterable[Identity]) -> list[psutil.Process]:
    return [p for p in (process_for(i) for i in idents) if p is not None]


def send_signal(idents: Iterable[Identity], sig: int) -> list[Identity]:
    """Signal each process after re-checking its identity; returns the ones signalled."""
    sent = []
    for ident in idents:
        proc = process_for(ident)
        if proc is None:
            continue
        try:
            if sig == signal.SIGTERM:
                proc.terminate()
            elif sig == getattr(signal, "SIGKILL", None):
                proc.kill()
            else:
                proc.send_signal(sig)
            sent.append(ident)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return sent


def _each(procs: list[psutil.Process], action: str) -> None:
    for p in procs:
        try:
            getattr(p, action)()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass


def _kill_now(procs: list[psutil.Process]) -> list[Identity]:
    _each(procs, "kill")
    _gone, alive = psutil.wait_procs(procs, timeout=3.0)
    return [Identity(p.pid, p.create_time()) for p in alive if _still(p)]


def terminate(idents: Iterable[Identity], grace: float = 5.0) -> list[Identity]:
    """Terminate, wait up to `grace`, then kill what is left. Returns the identities still alive."""
    procs = verified(idents)
    _each(procs, "terminate")
    _gone, alive = psutil.wait_procs(procs, timeout=grace)
    return _kill_now(alive)


def kill(idents: Iterable[Identity]) -> list[Identity]:
    """Kill at once (SIGKILL / TerminateProcess). Returns the identities still alive."""
    return _kill_now(verified(idents))


def _still(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def open_waitable(ident: Identity) -> int | None:
    """A Linux pidfd for exactly this process (readable once it ends).

    Returns None when the process is gone (or its PID now belongs to another
    process); raises OSError when the kernel has no pidfds.
    """
    try:
        fd = os.pidfd_open(ident.pid)
    except ProcessLookupError:
        return None
    # The fd is bound to whichever process had the PID when it was opened: make sure
    # that is still the recorded one, not a successor that reused the PID.
    if process_for(ident) is None:
        os.close(fd)
        return None
    return fd


def wait_any(idents: list[Identity], timeout: float | None, wake_fd: int | None = None) -> bool:
    """Block until one of `idents` ends (True), `wake_fd` becomes readable (True) or `timeout` passes (False).

    With pidfds (Linux 5.3+) the end is seen at once and waiting costs nothing;
    elsewhere psutil polls (and `wake_fd` is not watched: callers use a timeout there).
    """
    global _HAS_PIDFD
    if not idents:
        return True
    if not _HAS_PIDFD:
        return _poll_wait(idents, timeout)
    fds: list[int] = []
    try:
        for ident in idents:
            try:
                fd = open_waitable(ident)
            except OSError:  # ENOSYS and friends: no pidfds on this kernel
                _HAS_PIDFD = False
                return _poll_wait(idents, timeout)
            if fd is None:
                return True
            fds.append(fd)
        ready, _, _ = select.select(fds + ([wake_fd] if wake_fd is not None else []), [], [], timeout)
        return bool(ready)
    finally:
        for fd in fds:
            os.close(fd)


def _poll_wait(idents: list[Identity], timeout: float | None) -> bool:
    procs = verified(idents)
    if len(procs) < len(idents):
        return True
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        slice_ = 0.05 if deadline is None else max(0.0, min(0.05, deadline - time.monotonic()))
        gone, _alive = psutil.wait_procs(procs, timeout=slice_)
        if gone:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False


@dataclass(frozen=True)
class ProcInfo:
    identity: Identity
    name: str
    cmdline: tuple[str, ...]
    marker: str | None
    username: str | None = None


class ProcessTable:
    """The machine's processes, read incrementally.

    A pass lists PIDs (cheap) and reads name, command line and environment only for
    PIDs it has not seen before; known PIDs are taken as unchanged. A PID that was
    reused between two passes would keep its old entry, so every `full_every`
    passes the table is read afresh.
    """

    FRESH_S = 1.0  # a process younger than this may still be between fork and exec

    def __init__(self, full_every: int = 12) -> None:
        self._known: dict[int, ProcInfo | None] = {}
        self._fresh: set[int] = set()
        self._passes = 0
        self.full_every = full_every
        self.last_new = 0  # how many PIDs the last pass read

    def scan(self) -> dict[int, ProcInfo]:
        self._passes += 1
        if self.full_every and self._passes % self.full_every == 0:
            self._known.clear()
        pids = psutil.pids()
        current = set(pids)
        known = self._known
        for pid in [p for p in known if p not in current]:
            del known[pid]
        self._fresh &= current
        new = [p for p in pids if p not in known or p in self._fresh]
        self.last_new = len(new)
        now = time.time()
        for pid in new:
            info = self._read(pid)
            known[pid] = info
            # Between fork and exec a child still shows its parent's command line and
            # environment: read young processes again next time.
            if info is not None and now - info.identity.create_time < self.FRESH_S:
                self._fresh.add(pid)
            else:
                self._fresh.discard(pid)
        return {pid: info for pid, info in known.items() if info is not None}

    def forget(self, pid: int) -> None:
        self._known.pop(pid, None)

    @staticmethod
    def _read(pid: int) -> ProcInfo | None:
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                ident = Identity(pid, proc.create_time())
                name = proc.name()
                try:
                    cmdline = tuple(proc.cmdline())
                except (psutil.AccessDenied, psutil.ZombieProcess):
                    cmdline = ()
            return ProcInfo(ident, name, cmdline, read_marker(proc))
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return None
        except psutil.AccessDenied:
            return None


def cpu_seconds(idents: Iterable[Identity]) -> float:
    """Total user+system CPU time of the given live processes."""
    return process_cpu_seconds(verified(idents))


def process_cpu_seconds(procs: Iterable[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            continue
    return total
