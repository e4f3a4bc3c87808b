"""A fake `mpiexec` that builds the process tree of a real MPP launch.

    python -m dynagui.simulator.mpiexec [--detach] -np N SOLVER ARGS...

* plain: `mpiexec -> proxy -> N ranks`, each level in its own session as with
  MPICH's hydra; rank 0 writes stdout, a rank that dies abnormally brings the
  job down with MPICH's "BAD TERMINATION" text.
* `--detach`: the wrapper starts that tree detached and exits at once, as a
  `cmd /c` or shell-script wrapper does: the launcher that watched only the
  wrapper's PID would lose the solver (how ghosts were born).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

_WINDOWS = sys.platform == "win32"


def _detached_kwargs() -> dict:
    if _WINDOWS:
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(subprocess, "DETACHED_PROCESS", 0)
        return {"creationflags": flags}
    return {"start_new_session": True}


def _split(argv: list[str]) -> tuple[str, int, list[str]]:
    mode = "mpiexec"
    nprocs = 1
    rest = list(argv)
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag == "--detach":
            mode = "detach"
        elif flag == "--proxy":
            mode = "proxy"
        elif flag in ("-np", "-n"):
            nprocs = int(rest.pop(0))
        else:
            raise SystemExit(f"mpiexec: unknown option {flag}")
    if not rest:
        raise SystemExit("mpiexec: no program to run")
    if nprocs < 1:
        raise SystemExit("mpiexec: -np must be at least 1")
    return mode, nprocs, rest


def _self_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dynagui.simulator.mpiexec", *args]


def run_detached(nprocs: int, cmd: list[str]) -> int:
    subprocess.Popen(_self_cmd("-np", str(nprocs), *cmd), stdin=subprocess.DEVNULL, **_detached_kwargs())
    return 0


def run_mpiexec(nprocs: int, cmd: list[str]) -> int:
    proxy = subprocess.Popen(_self_cmd("--proxy", "-np", str(nprocs), *cmd), stdin=subprocess.DEVNULL,
                             **_detached_kwargs())

    def forward(signum: int, _frame: object) -> None:
        try:
            proxy.send_signal(signal.SIGTERM if signum != signal.SIGKILL else signum)
        except OSError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    return proxy.wait()


def _bad_termination(pid: int, code: int) -> None:
    bar = "=" * 83
    lines = [
        "",
        bar,
        "=   BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES",
        f"=   PID {pid} RUNNING AT {socket.gethostname()}",
        f"=   EXIT CODE: {code}",
        "=   CLEANING UP REMAINING PROCESSES",
        "=   YOU CAN IGNORE THE BELOW CLEANUP MESSAGES",
        bar,
    ]
    try:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    except OSError:
        pass


def run_proxy(nprocs: int, cmd: list[str]) -> int:
    ranks: list[subprocess.Popen] = []
    for rank in range(nprocs):
        env = dict(os.environ, DYNAGUI_SIM_RANK=str(rank), DYNAGUI_SIM_NPROCS=str(nprocs), DYNAGUI_SIM_MPP="1")
        stdout = None if rank == 0 else subprocess.DEVNULL
        ranks.append(subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=stdout))
    stopping = False

    def stop_all(_signum: int = 0, _frame: object = None) -> None:
        nonlocal stopping
        stopping = True
        for p in ranks:
            if p.poll() is None:
                try:
                    p.terminate()
                except OSError:
                    pass

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    while True:
        done = [p for p in ranks if p.poll() is not None]
        if ranks[0] in done:
            stop_all()
            for p in ranks:
                p.wait()
            return ranks[0].returncode if ranks[0].returncode >= 0 else 128 - ranks[0].returncode
        for p in done:
            if p.returncode != 0 and not stopping:
                _bad_termination(p.pid, -p.returncode if p.returncode < 0 else p.returncode)
                stop_all()
                for q in ranks:
                    q.wait()
                return 1
        if _WINDOWS:
            time.sleep(0.05)
        else:
            try:
                pid, status = os.waitpid(-1, 0)  # sleeps until a rank ends
            except ChildProcessError:
                continue
            for p in ranks:
                if p.pid == pid:
                    p.returncode = os.waitstatus_to_exitcode(status)


def main(argv: list[str] | None = None) -> int:
    mode, nprocs, cmd = _split(sys.argv[1:] if argv is None else argv)
    if mode == "detach":
        return run_detached(nprocs, cmd)
    if mode == "proxy":
        return run_proxy(nprocs, cmd)
    return run_mpiexec(nprocs, cmd)


if __name__ == "__main__":
    sys.exit(main())
