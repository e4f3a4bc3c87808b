"""`dynagui`: the command line. Qt-free; it opens the window only for `gui` and `demo`.

Contract for scripts: `submit` prints the new job id alone on its last stdout
line; statuses are lowercase words; bad input is one line on stderr and exit
code 2 with nothing written.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from typing import Any

from dynagui import __version__
from dynagui.core import control, queue
from dynagui.core.doctor import run_doctor
from dynagui.core.engine import Engine
from dynagui.core.health import HealthChecker
from dynagui.core.jobs import ACTIVE, JobStatus
from dynagui.core.lock import EngineBusy, read_holder
from dynagui.core.logsetup import configure_logging
from dynagui.core.output import parse_file, summary_to_dict
from dynagui.core.paths import DataDir, resolve_data_dir
from dynagui.core.solver import ProfileError, SolverProfile, builtin_profiles
from dynagui.core.store import Store, StoreError
from dynagui.core.submit import Settings, SubmitError, all_profiles, submit
from dynagui.core.textreport import LIST_HEADER, fmt_time, job_lines, job_row

log = logging.getLogger("dynagui.cli")


class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage dump
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dynagui", description="Launch and watch LS-DYNA jobs; no solver ever runs untracked.")
    p.add_argument("--data-dir", help="folder for the job database and logs (default: the user data folder, "
                   "or $DYNAGUI_DATA_DIR)")
    p.add_argument("-v", "--verbose", action="store_true", help="also log to stderr")
    p.add_argument("--version", action="version", version=f"dynagui {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    sub.add_parser("gui", help="open the main window (the default)")
    sub.add_parser("demo", help="open the window on a demo folder with the LS-DYNA simulator and sample decks")

    s = sub.add_parser("serve", help="run the engine headless until SIGINT/SIGTERM (solvers keep running)")
    s.add_argument("--cores", type=int, help="core budget of this data folder (stored)")
    s.add_argument("--health-interval", type=float, help="seconds between health passes (default 5)")
    s.add_argument("--kill-ghosts", choices=["on", "off"], help="kill ghosts automatically at start and on each pass "
                   "(stored; default off)")

    s = sub.add_parser("submit", help="queue a deck; prints the job id")
    s.add_argument("deck")
    s.add_argument("--solver", default="simulator")
    s.add_argument("--ncpu", type=int, default=1)
    s.add_argument("--memory")
    s.add_argument("--workdir")
    s.add_argument("--priority", type=int, default=0)
    s.add_argument("--arg", dest="extra", action="append", default=[], help="extra solver argument (repeatable)")
    s.add_argument("--wait", action="store_true", help="wait for the outcome; exit 0 only when it finished")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("list", help="list jobs")
    s.add_argument("--json", action="store_true")
    s.add_argument("--status", choices=[st.value for st in JobStatus])

    s = sub.add_parser("show", help="one job in detail")
    s.add_argument("id", type=int)
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("stop", help="stop a job (sw1. restart dump, then terminate after the grace time)")
    s.add_argument("id", type=int)
    s.add_argument("--kill", action="store_true", help="kill the whole tree at once")
    s.add_argument("--grace", type=float, help="seconds to wait for sw1. before terminating (default 30)")

    s = sub.add_parser("switch", help="send a sense switch: sw2, sw3, sw4, swa or endtime=T")
    s.add_argument("id", type=int)
    s.add_argument("switch")

    s = sub.add_parser("ghosts", help="list (and kill) solver processes nothing tracks")
    s.add_argument("--json", action="store_true")
    s.add_argument("--kill", action="store_true", help="kill the ghosts")
    s.add_argument("--include-untracked", action="store_true", help="with --kill: untracked solvers too")

    s = sub.add_parser("solvers", help="solver profiles")
    ss = s.add_subparsers(dest="action", parser_class=_Parser, required=True)
    x = ss.add_parser("list")
    x.add_argument("--json", action="store_true")
    x = ss.add_parser("add")
    x.add_argument("name")
    x.add_argument("--exe", required=True, help="the LS-DYNA executable")
    x.add_argument("--mpp", action="store_true", help="an MPP executable, started through --mpi")
    x.add_argument("--mpi", default="mpiexec -np {ncpu}", help="MPI launcher, {ncpu} is replaced")
    x.add_argument("--precision", choices=["single", "double"], default="double")
    x.add_argument("--arg", dest="extra", action="append", default=[])
    x.add_argument("--env", action="append", default=[], help="KEY=VALUE added to the solver's environment")
    x = ss.add_parser("remove")
    x.add_argument("name")

    s = sub.add_parser("parse", help="summarise an LS-DYNA stdout/messag/d3hsp file")
    s.add_argument("file")
    s.add_argument("--json", action="store_true")
    s.add_argument("--ended", action="store_true", help="the run is over (no banner then means a crash)")

    s = sub.add_parser("remove", help="remove a job that is not running from the history")
    s.add_argument("id", type=int)
    s = sub.add_parser("queue", help="change a queued job: order, priority, cores")
    s.add_argument("id", type=int)
    s.add_argument("--up", action="store_true", help="one place towards the front")
    s.add_argument("--down", action="store_true", help="one place towards the back")
    s.add_argument("--priority", type=int)
    s.add_argument("--ncpu", type=int)

    s = sub.add_parser("relaunch", help="queue a finished, failed or stopped job again")
    s.add_argument("id", type=int)
    s.add_argument("--restart", metavar="DUMP", help="restart from a dump file (r=DUMP), e.g. d3dump01")

    sub.add_parser("doctor", help="check solvers, MPI launchers, licence settings, data folder and disk space")
    return p


# ----------------------------------------------------------------- helpers
def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _engine_unless_running(data_dir: DataDir, kind: str, launch: bool) -> Engine | None:
    """An engine of our own when none owns the data folder (else that one does the work)."""
    if read_holder(data_dir.lock_file) is not None:
        return None
    try:
        return Engine(data_dir, kind=kind).start(launch=launch)
    except EngineBusy:
        return None  # another engine won the race: it does the work


def _get_job(store: Store, job_id: int) -> Any:
    job = store.find_job(job_id)
    if job is None:
        raise UsageError(f"there is no job {job_id}")
    return job


# ---------------------------------------------------------------- commands
def cmd_submit(args: argparse.Namespace, data_dir: DataDir) -> int:
    store = Store(data_dir.database)
    try:
        job, warnings = submit(store, deck=args.deck, solver=args.solver, ncpu=args.ncpu, memory=args.memory,
                               workdir=args.workdir, priority=args.priority, extra_args=tuple(args.extra))
    except SubmitError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        store.close()
    for w in warnings:
        sys.stderr.write(f"dynagui: warning: {w}\n")
    if args.json:
        _out(json.dumps(job.as_public_dict()))
    else:
        _out(str(job.id))
    if not args.wait:
        return 0
    return _wait_for(data_dir, job.id)


def _wait_for(data_dir: DataDir, job_id: int) -> int:
    engine = _engine_unless_running(data_dir, "submit --wait", launch=True)
    store = Store(data_dir.database)
    try:
        while True:
            job = store.get_job(job_id)
            if job.status.is_final:
                sys.stderr.write(f"job {job_id} {job.status}: {job.reason}\n")
                return 0 if job.status == JobStatus.FINISHED else 1
            time.sleep(0.2)
    finally:
        store.close()
        if engine is not None:
            engine.close()


def cmd_list(args: argparse.Namespace, data_dir: DataDir) -> int:
    store = Store(data_dir.database)
    try:
        jobs = store.list_jobs([JobStatus(args.status)] if args.status else None)
        data = [j.as_public_dict() for j in jobs]
    finally:
        store.close()
    if args.json:
        _out(json.dumps(data))
        return 0
    if not data:
        _out("no jobs yet: `dynagui submit DECK.k` queues one")
        return 0
    _out(LIST_HEADER)
    for d in data:
        _out(job_row(d))
    return 0


def cmd_show(args: argparse.Namespace, data_dir: DataDir) -> int:
    store = Store(data_dir.database)
    try:
        job = _get_job(store, args.id)
        d = job.as_public_dict()
        events = store.events(job.id)
    finally:
        store.close()
    if args.json:
        d["events"] = [{k: e[k] for k in ("time", "from_status", "to_status", "reason")} for e in events]
        _out(json.dumps(d))
        return 0
    for line in job_lines(d, events):
        _out(line)
    return 0


def cmd_stop(args: argparse.Namespace, data_dir: DataDir) -> int:
    store = Store(data_dir.database)
    try:
        job = _get_job(store, args.id)
        if not job.status.is_active and job.status != JobStatus.QUEUED:
            raise UsageError(f"job {args.id} is not running (it is {job.status})")
        grace = Settings.load(store).stop_grace if args.grace is None else args.grace
        if grace < 0:
            raise UsageError("--grace must not be negative")
    finally:
        store.close()
    engine = _engine_unless_running(data_dir, "stop", launch=False)
    store = Store(data_dir.database)
    try:
        job = control.request_stop(store, args.id, kill=args.kill)
        if job.status.is_active:
            did = control.stop_ladder(store, args.id, grace, kill=args.kill)
            sys.stderr.write(f"job {args.id}: {did}\n")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            job = store.get_job(args.id)
            if job.status.is_final:
                break
            if engine is not None:
                engine.finalize(args.id)
            time.sleep(0.1)
        _out(f"{job.id} {job.status}: {job.reason}")
        return 0
    finally:
        store.close()
        if engine is not None:
            engine.close()


def cmd_switch(args: argparse.Namespace, data_dir: DataDir) -> int:
    store = Store(data_dir.database)
    try:
        token = control.send_switch(store, args.id, args.switch)
    except control.ControlError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        store.close()
    _out(f"wrote {token} to the d3kil file of job {args.id}")
    return 0


def cmd_ghosts(args: argparse.Namespace, data_dir: DataDir) -> int:
    if args.include_untracked and not args.kill:
        raise UsageError("--include-untracked goes with --kill")
    store = Store(data_dir.database)
    try:
        active = store.list_jobs(ACTIVE)

        def owner(uid: str) -> tuple[int, str] | None:
            job = store.job_by_uid(uid)
            return (job.id, job.status.value) if job else None

        report = HealthChecker().run(active, all_profiles(store).values(), store.all_known_identities(), owner,
                                     store.marker_tag)
    finally:
        store.close()
    suspects = report.suspects
    killed: list[Any] = []
    if args.kill:
        targets = [s for s in suspects if s.kind == "ghost" or args.include_untracked]
        killed = control.kill_suspects(targets)
    if args.json:
        out = []
        for s in suspects:
            d = s.as_public_dict()
            if args.kill:
                d["killed"] = s in killed
            out.append(d)
        _out(json.dumps(out))
        return 0
    if not suspects:
        _out("no ghosts and no untracked solvers")
        return 0
    for s in suspects:
        mark = " (killed)" if s in killed else ""
        _out(f"{s.kind:<9} PID {s.identity.pid:<7} {fmt_time(s.identity.create_time)}  {s.name}: {s.why}{mark}")
        _out(f"{'':<9} {' '.join(s.cmdline)[:200]}")
    return 0


def cmd_solvers(args: argparse.Namespace, data_dir: DataDir) -> int:
    store = Store(data_dir.database)
    try:
        if args.action == "list":
            profiles = all_profiles(store)
            if args.json:
                _out(json.dumps([{**p.to_dict(), "builtin": p.builtin} for p in profiles.values()]))
                return 0
            for p in profiles.values():
                kind = "built-in" if p.builtin else "custom"
                launcher = " ".join(p.mpi_launcher) + " " if p.parallel == "mpp" else ""
                _out(f"{p.name:<16} {p.parallel}  {kind:<8} {launcher}{p.executable} {' '.join(p.solver_args)}")
            return 0
        if args.action == "add":
            if args.name in builtin_profiles():
                raise UsageError(f"{args.name!r} is a built-in profile; choose another name")
            env = {}
            for kv in args.env:
                key, sep, value = kv.partition("=")
                if not sep or not key:
                    raise UsageError(f"--env takes KEY=VALUE, not {kv!r}")
                env[key] = value
            try:
                profile = SolverProfile.from_dict({
                    "name": args.name, "executable": args.exe, "parallel": "mpp" if args.mpp else "smp",
                    "precision": args.precision, "mpi_launcher": args.mpi.split() if args.mpp else [],
                    "extra_args": args.extra, "env": env})
            except ProfileError as exc:
                raise UsageError(str(exc)) from exc
            if profile.resolve_executable() is None:
                sys.stderr.write(f"dynagui: warning: {args.exe} is not an executable file on this machine (yet)\n")
            store.save_solver_profile(profile.name, profile.to_dict())
            _out(f"solver profile {profile.name} saved")
            return 0
        if args.name in builtin_profiles():
            raise UsageError(f"{args.name!r} is a built-in profile and cannot be removed")
        if not store.remove_solver_profile(args.name):
            raise UsageError(f"there is no solver profile {args.name!r}")
        _out(f"solver profile {args.name} removed")
        return 0
    finally:
        store.close()


def cmd_parse(args: argparse.Namespace, data_dir: DataDir) -> int:
    try:
        parser = parse_file(args.file, ended=args.ended)
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from exc
    d = summary_to_dict(parser)
    if args.json:
        _out(json.dumps(d))
        return 0
    for key in ("verdict", "version", "revision", "parallel", "precision", "licence", "cycle", "sim_time", "end_time",
                "progress", "dt", "eta_s", "warnings", "errors", "first_error", "crash", "elapsed_s"):
        _out(f"{key:>12}: {d[key] if d[key] is not None else '-'}")
    return 0


def cmd_remove(args: argparse.Namespace, data_dir: DataDir) -> int:
    store = Store(data_dir.database)
    try:
        queue.remove(store, args.id)
    except queue.QueueError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        store.close()
    _out(f"job {args.id} removed")
    return 0


def cmd_queue(args: argparse.Namespace, data_dir: DataDir) -> int:
    if not (args.up or args.down or args.priority is not None or args.ncpu is not None):
        raise UsageError("say what to change: --up, --down, --priority P or --ncpu N")
    store = Store(data_dir.database)
    try:
        if args.ncpu is not None:
            queue.set_ncpu(store, args.id, args.ncpu)
        if args.priority is not None:
            queue.set_priority(store, args.id, args.priority)
        if args.up or args.down:
            queue.move(store, args.id, -1 if args.up else 1)
        order = [j.id for j in store.queued_jobs()]
    except queue.QueueError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        store.close()
    _out("queue: " + " ".join(map(str, order)))
    return 0


def cmd_relaunch(args: argparse.Namespace, data_dir: DataDir) -> int:
    store = Store(data_dir.database)
    try:
        queue.relaunch(store, args.id, restart_from=args.restart)
    except queue.QueueError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        store.close()
    _out(str(args.id))
    return 0


def cmd_serve(args: argparse.Namespace, data_dir: DataDir) -> int:
    if args.cores is not None and args.cores < 1:
        raise UsageError("--cores must be at least 1")
    if args.health_interval is not None and args.health_interval <= 0:
        raise UsageError("--health-interval must be positive")
    engine = Engine(data_dir, kind="serve", health_interval=args.health_interval)
    if args.cores is not None:
        engine.settings.save(engine.store, core_budget=args.cores)
    if args.kill_ghosts is not None:
        engine.settings.save(engine.store, auto_kill_ghosts=args.kill_ghosts == "on")
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        engine.start()
    except EngineBusy:
        engine.store.close()
        raise
    sys.stderr.write(f"dynagui engine serving {data_dir.root} (cores {engine.settings.core_budget}); "
                     "ctrl-c stops watching, solvers keep running\n")
    try:
        while not done.wait(0.5):
            pass
    finally:
        engine.close()
    return 0


def cmd_doctor(args: argparse.Namespace, data_dir: DataDir) -> int:
    ok = True
    for check in run_doctor(data_dir):
        ok = ok and check.ok
        _out(f"[{'ok' if check.ok else '!!'}] {check.name}: {check.detail}")
    return 0 if ok else 1


def cmd_gui(args: argparse.Namespace, data_dir: DataDir, demo: bool = False) -> int:
    from dynagui.gui.app import run_app  # the only place the CLI reaches into Qt

    return run_app(data_dir, demo=demo)


COMMANDS = {
    "submit": cmd_submit, "list": cmd_list, "show": cmd_show, "stop": cmd_stop, "switch": cmd_switch,
    "ghosts": cmd_ghosts, "solvers": cmd_solvers, "parse": cmd_parse, "remove": cmd_remove,
    "relaunch": cmd_relaunch, "queue": cmd_queue, "serve": cmd_serve, "doctor": cmd_doctor,
}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        command = args.command or "gui"
        data_dir = resolve_data_dir(args.data_dir)
        if command == "demo" and not args.data_dir:
            data_dir = DataDir(data_dir.root / "demo")
        data_dir.ensure()
        configure_logging(data_dir.logs)
        if args.verbose:
            logging.getLogger("dynagui").addHandler(logging.StreamHandler(sys.stderr))
        if command in ("gui", "demo"):
            return cmd_gui(args, data_dir, demo=command == "demo")
        return COMMANDS[command](args, data_dir)
    except UsageError as exc:
        sys.stderr.write(f"dynagui: error: {exc}\n")
        return 2
    except (StoreError, EngineBusy, control.ControlError) as exc:
        sys.stderr.write(f"dynagui: error: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"dynagui: error: {exc}\n")
        return 2


def gui_main() -> int:
    return main(sys.argv[1:] or ["gui"])
