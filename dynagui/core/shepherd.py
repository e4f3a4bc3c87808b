"""The shepherd: one small detached process per launched job.

    python -m dynagui.core.shepherd RUN_DIR

It outlives the launcher, so a job's exit code and end time are never lost:
1. removes a stale `d3kil` (a leftover `sw1.` would stop the new run at once);
2. starts the solver command with `DYNAGUI_JOB=<uid>` in its environment and
   stdout+stderr appended to the job's log file (never a pipe: a dead launcher
   would break it and the solver would die of EPIPE);
3. on Linux becomes child subreaper, so orphaned MPI helpers and ranks are
   re-parented to it and reaped by it;
4. finds every process carrying the job's marker (a PID-set diff, reading only
   new processes), records each identity in `procs.jsonl` and reports it on
   stdout to the engine if one listens;
5. waits (pidfds: the end of any tracked process wakes it at once) until the
   whole marked tree has ended, then writes `exit.json` atomically and exits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dynagui.core import proctrack
from dynagui.core.jobs import Identity
from dynagui.core.runfiles import RunFiles
from dynagui.core.solver import SolverProfile

_WINDOWS = sys.platform == "win32"
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


FAST_SCAN_S = 0.02  # while the tree is being built: MPI helpers and ranks appear one after another
FAST_PHASE_S = 2.0  # how long to keep scanning fast after the start or after a new process
MAX_SCAN_S = 5.0


def next_scan_interval(current: float, since_change: float) -> float:
    """Look hard while the tree changes, then back off: a settled tree costs (almost) nothing."""
    if since_change < FAST_PHASE_S:
        return FAST_SCAN_S
    return min(MAX_SCAN_S, max(FAST_SCAN_S, current) * 1.5)


class Shepherd:
    def __init__(self, run_dir: Path) -> None:
        self.files = RunFiles(run_dir)
        self.spec: dict[str, Any] = self.files.read_spec()
        self.uid: str = self.spec["uid"]
        self.profile = SolverProfile.from_dict(self.spec["profile"])
        self.known: dict[Identity, str] = {}
        self.ended: set[Identity] = set()
        self.codes: dict[int, int] = {}
        self.last_code: int | None = None
        self.table = proctrack.ProcessTable(full_every=0)
        self.report_to_engine = True

    # ------------------------------------------------------------- reporting
    def emit(self, record: dict[str, Any]) -> None:
        if not self.report_to_engine:
            return
        try:
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.report_to_engine = False  # the engine went away; the files still tell everything

    def record(self, ident: Identity, role: str, name: str, exe: str) -> None:
        if ident in self.known:
            return
        self.known[ident] = role
        rec = {"kind": "proc", "pid": ident.pid, "create_time": ident.create_time, "role": role, "name": name,
               "exe": exe, "found_at": time.time()}
        self.files.append_proc(rec)
        self.emit(rec)

    # ------------------------------------------------------------------- run
    def run(self) -> int:
        me = proctrack.identity_of(os.getpid())
        self.files.write_json("shepherd.json", {"pid": os.getpid(), "create_time": me.create_time if me else None})
        subreaper = become_subreaper()
        cwd = self.spec["cwd"]
        for name in ("d3kil", "D3KIL"):
            try:
                os.remove(os.path.join(cwd, name))
            except OSError:
                pass
        cores = self.spec.get("affinity")
        if cores and hasattr(os, "sched_setaffinity"):
            try:
                os.sched_setaffinity(0, cores)  # inherited by the solver and all its ranks
            except OSError:
                pass
        env = dict(os.environ)
        env.update(self.spec.get("env", {}))
        env[proctrack.MARKER_VAR] = self.uid
        started = time.time()
        try:
            with open(self.spec["log_path"], "ab") as log:
                child = subprocess.Popen(self.spec["command"], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, close_fds=True)
        except OSError as exc:
            message = f"cannot start the solver command {self.spec['command'][0]!r}: {exc.strerror or exc}"
            with open(self.spec["log_path"], "ab") as log:
                log.write(f"\n*** dynagui: {message}\n".encode())
            self.finish(started, launch_error=message, exit_code=127)
            return 0
        ident = proctrack.identity_of(child.pid)
        if ident is not None:
            role = "solver" if self.profile.matches(self.spec["command"]) else "launcher"
            self.record(ident, role, os.path.basename(self.spec["command"][0]), self.spec["command"][0])
        self.emit({"kind": "started", "pid": child.pid, "subreaper": subreaper})
        self.watch(child, started)
        return 0

    def scan(self) -> bool:
        """Record new marked processes; True when the tree changed."""
        changed = False
        for info in self.table.scan().values():
            if info.marker != self.uid or info.identity.pid == os.getpid():
                continue
            role = "solver" if self.profile.matches(list(info.cmdline)) else "helper"
            known = self.known.get(info.identity)
            if known is None:
                self.record(info.identity, role, info.name, info.cmdline[0] if info.cmdline else "")
                changed = True
            elif known != "solver" and role == "solver":
                # first seen between fork and exec, with its parent's command line: now it is the solver
                self.known[info.identity] = role
                rec = {"kind": "proc", "pid": info.identity.pid, "create_time": info.identity.create_time,
                       "role": role, "name": info.name, "exe": info.cmdline[0], "found_at": time.time()}
                self.files.append_proc(rec)
                self.emit(rec)
                changed = True
        return changed

    def alive(self) -> list[Identity]:
        live = [i for i in self.known if i not in self.ended and proctrack.is_alive(i)]
        self.ended.update(i for i in self.known if i not in live)
        return live

    def reap(self, child: subprocess.Popen) -> None:
        """Collect exit statuses of our child and of orphans re-parented to us."""
        if _WINDOWS:
            if child.poll() is not None and child.pid not in self.codes:
                self.codes[child.pid] = child.returncode
                self.last_code = child.returncode
            return
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            self.codes[pid] = code
            self.last_code = code
            if pid == child.pid:
                child.returncode = code

    def watch(self, child: subprocess.Popen, started: float) -> None:
        wake_r = wake_w = -1
        if not _WINDOWS:
            wake_r, wake_w = os.pipe()
            os.set_blocking(wake_w, False)
            os.set_blocking(wake_r, False)
            signal.set_wakeup_fd(wake_w)
            signal.signal(signal.SIGCHLD, lambda *_: None)
        next_scan = 0.0
        interval = FAST_SCAN_S
        last_change = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if now >= next_scan:
                    if self.scan():
                        last_change = now
                    interval = next_scan_interval(interval, now - last_change)
                    next_scan = now + interval
                self.reap(child)
                live = self.alive()
                if child.returncode is not None and not live:
                    self.scan()  # a detached tree may have been started just before the wrapper exited
                    if not self.alive():
                        break
                    continue
                timeout = max(0.0, next_scan - time.monotonic())
                if _WINDOWS:
                    proctrack.wait_any(live, min(timeout, 0.05)) if live else time.sleep(min(timeout, 0.05))
                else:
                    self._sleep(live, wake_r, timeout)
        finally:
            if wake_r >= 0:
                signal.set_wakeup_fd(-1)
                os.close(wake_r)
                os.close(wake_w)
        self.reap(child)
        self.finish(started, exit_code=self.last_code if self.last_code is not None else child.returncode)

    def _sleep(self, live: list[Identity], wake_r: int, timeout: float) -> None:
        import select

        fds = []
        try:
            for ident in live:
                try:
                    fd = proctrack.open_waitable(ident)
                except OSError:
                    fd = None
                if fd is None:
                    return  # already gone: loop again at once
                fds.append(fd)
            select.select([wake_r, *fds], [], [], min(timeout, 5.0) if fds else min(timeout, 0.05))
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        finally:
            for fd in fds:
                os.close(fd)

    def finish(self, started: float, exit_code: int | None, launch_error: str | None = None) -> None:
        record = {
            "exit_code": exit_code,
            "started_at": started,
            "ended_at": time.time(),
            "codes": {str(k): v for k, v in self.codes.items()},
            "launch_error": launch_error,
        }
        self.files.write_json("exit.json", record)
        self.emit({"kind": "exit", **record})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m dynagui.core.shepherd RUN_DIR\n")
        return 2
    if not _WINDOWS:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl-c in the launcher's terminal is not for us
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    return Shepherd(Path(args[0])).run()


if __name__ == "__main__":
    sys.exit(main())
