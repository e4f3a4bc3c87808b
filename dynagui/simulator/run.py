"""One simulated LS-DYNA run (an SMP process, or one rank of an MPP job).

`python -m dynagui.simulator i=DECK ncpu=N memory=M [r=DUMP]` prints what an
LS-DYNA R13 run prints, writes messag/d3hsp/status.out/d3plot/d3dump01 in the
working directory, and reads the `d3kil` file every cycle. The run's course comes
from the deck (`*CONTROL_TERMINATION`, `*DATABASE_BINARY_D3PLOT`,
`*CONTROL_TIMESTEP`) and from `$ dynagui-sim: ...` scenario lines.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time

from dynagui.simulator import lsdyna_text as T
from dynagui.simulator.deck import Deck, Scenario, read_deck

DONE_FILE = ".dynagui-sim-done"  # lets ranks > 0 follow rank 0 where no proxy tells them
CYCLES_PER_RUN = 20000
FLUSH_EVERY = 5000


class Output:
    """stdout (rank 0 only) plus the message file; block-buffered when the deck asks."""

    def __init__(self, to_stdout: bool, message_file: str, buffered: bool) -> None:
        self.to_stdout = to_stdout
        self.buffered = buffered
        self.pending: list[str] = []
        self.message = open(message_file, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the run

    def write(self, lines: list[str], message: bool = True) -> None:
        if self.to_stdout:
            self.pending.extend(lines)
            if not self.buffered:
                self.flush()
        if message:
            self.message.write("\n".join(lines) + "\n")
            self.message.flush()

    def flush(self) -> None:
        if self.pending and self.to_stdout:
            try:
                sys.stdout.write("\n".join(self.pending) + "\n")
                sys.stdout.flush()
            except (BrokenPipeError, OSError):
                self.to_stdout = False  # nobody reads any more; keep running like the real solver
        self.pending.clear()

    def close(self) -> None:
        self.flush()
        self.message.close()


def parse_memory(text: str) -> int:
    """`memory=20m` is 20 000 000 words; `memory=2g`, `memory=500000` likewise."""
    t = text.strip().lower()
    scale = 1
    if t.endswith("m"):
        scale, t = 1_000_000, t[:-1]
    elif t.endswith("g"):
        scale, t = 1_000_000_000, t[:-1]
    return int(float(t) * scale)


def parse_args(argv: list[str]) -> dict[str, str]:
    opts: dict[str, str] = {}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep:
            opts[key.strip().lower()] = value
        else:
            opts[arg.strip().lower()] = ""
    return opts


class SimulatedRun:
    def __init__(self, argv: list[str], rank: int = 0, nprocs: int = 1) -> None:
        self.argv = argv
        self.opts = parse_args(argv)
        self.rank = rank
        self.nprocs = nprocs
        self.parallel = "mpp" if nprocs > 1 or os.environ.get("DYNAGUI_SIM_MPP") else "smp"
        self.ncpu = nprocs if self.parallel == "mpp" else abs(int(self.opts.get("ncpu", "1") or 1))
        self.started = time.time()
        self.cycle = 1
        self.t = 0.0
        self.dt = 1e-6
        self.end_time = 0.0
        self.plots = 0
        self.stop_token = os.environ.get("DYNAGUI_JOB") or str(os.getppid())

    # ------------------------------------------------------------------ main
    def main(self) -> int:
        deck_path = self.opts.get("i", "")
        restart = self.opts.get("r")
        if not deck_path and not restart:
            sys.stderr.write("ls-dyna: no input file given (i=deck.k)\n")
            return 2
        try:
            memory = parse_memory(self.opts.get("memory", "20m") or "20m")
        except ValueError:
            sys.stderr.write(f"ls-dyna: bad memory size {self.opts.get('memory')!r}\n")
            return 2
        msg_name = "messag" if self.parallel == "smp" else f"mes{self.rank:04d}"
        if self.rank == 0 and os.path.exists(DONE_FILE):
            os.remove(DONE_FILE)
        deck = None
        scenario = Scenario()
        if deck_path:
            try:
                deck = read_deck(deck_path)
                scenario = deck.scenario
            except OSError:
                deck = None
        self.out = Output(self.rank == 0, msg_name, scenario.buffered)
        try:
            return self._run(deck, deck_path, restart, memory, scenario)
        finally:
            self.out.close()
            if self.rank == 0 and self.parallel == "mpp":
                with open(DONE_FILE, "w", encoding="utf-8") as fh:
                    fh.write(self.stop_token)

    def _run(self, deck: Deck | None, deck_path: str, restart: str | None, memory: int, sc: Scenario) -> int:
        out = self.out
        out.write([" License option : check ansys licenses only"], message=False)
        out.write(T.banner(self.parallel, self.ncpu, self.started))
        if sc.licence_fail:
            out.write(T.licence_failed(), message=False)
            return 1
        out.write(T.licence_ok(), message=False)
        options = [a for a in self.argv if "=" in a]
        out.write(T.command_echo(options, os.path.abspath(deck_path or restart or ""), memory))
        out.write(T.SENSE_SWITCH_HELP + [""], message=False)
        if deck is None:
            if restart and os.path.exists(restart):
                deck = Deck(path=restart)
            else:
                out.write([T.at_column_64(" Beginning of keyword reader"), "", " *** Error 10001 (KEY+1)",
                           f"     input file {deck_path or restart} cannot be opened", ""])
                self._terminate("error")
                return 1
        if sc.error_at is not None and sc.error_at <= 0:
            out.write(T.input_error())
            self._terminate("error")
            return 1
        out.write(T.keyword_reader(self.nprocs if self.parallel == "mpp" else None))
        return self._solve(deck, sc, restart)

    # ------------------------------------------------------------- time loop
    def _solve(self, deck: Deck, sc: Scenario, restart: str | None) -> int:
        out = self.out
        end_time = deck.end_time
        self.dt = abs(deck.dt_hint) if deck.dt_hint and deck.dt_hint < 0 else end_time / CYCLES_PER_RUN
        if restart and os.path.exists(restart):
            # a restart dump holds the whole state, the end time and timestep included
            state = _read_dump(restart)
            self.cycle, self.t = state.get("cycle", 1), state.get("t", 0.0)
            end_time = state.get("end_time", end_time)
            self.dt = state.get("dt", end_time / CYCLES_PER_RUN)
        self.end_time = end_time
        mass_scaled = bool(deck.dt_hint and deck.dt_hint < 0)
        plot_dt = deck.d3plot_interval or end_time / 20
        cycles_per_s = max(1.0, (end_time - self.t) / self.dt / max(sc.wall, 0.05))
        tick = min(0.05, max(sc.wall, 0.05) / 100)
        self._line("flush i/o buffers")
        self._plot()
        out.write(T.eta_block(sc.wall, sc.wall, end_time), message=False)
        _write_text("status.out", "\n".join(T.eta_block(sc.wall, sc.wall, end_time)[:8]) + "\n")
        next_plot = (math.floor(self.t / plot_dt) + 1) * plot_dt
        next_flush = (self.cycle // FLUSH_EVERY + 1) * FLUSH_EVERY
        dropped = False
        loop_start = time.monotonic()
        while True:
            self._pace(tick, sc.load)
            if self._follower_should_stop():
                return 0
            if not sc.ignore_d3kil and self.rank == 0:
                verdict = self._sense_switch(end_time)
                if isinstance(verdict, float):
                    end_time = self.end_time = verdict
                elif verdict is not None:
                    return verdict
            steps = max(1, int(cycles_per_s * tick))
            for _ in range(steps):
                self.cycle += 1
                self.t += self.dt * (1.0 + 0.004 * math.sin(self.cycle / 700.0))
                if self.cycle >= next_flush:
                    next_flush += FLUSH_EVERY
                    self._line("flush i/o buffers")
                    out.flush()
                if self.t >= next_plot and self.t < end_time:
                    next_plot += plot_dt
                    self._plot()
                    if mass_scaled:
                        out.write(T.mass_scaling(1.2e-4 * self.plots, 0.35 * self.plots))
                if self.t >= end_time:
                    break
            frac = self.t / end_time
            if sc.hang_at is not None and frac >= sc.hang_at:
                out.flush()
                while True:  # stuck inside a cycle: no output, no d3kil, no exit
                    time.sleep(3600)
            if sc.crash_at is not None and frac >= sc.crash_at:
                out.write(T.crash_trace(), message=False)
                return 3
            if sc.error_at is not None and frac >= sc.error_at:
                out.write(T.solution_error(self.cycle, self.t))
                self._terminate("error")
                return 1
            if sc.dt_drop_at is not None and not dropped and frac >= sc.dt_drop_at:
                dropped = True
                self.dt /= 100.0
            if dropped and time.monotonic() - loop_start > sc.wall:
                out.write(T.negative_volume(self.cycle))
                self._terminate("error")
                return 1
            if self.t >= end_time:
                out.write(["", " *** termination time reached ***"])
                self._dump()
                self._plot()
                self._terminate("normal")
                return 0

    def _pace(self, tick: float, load: bool) -> None:
        if not load:
            time.sleep(tick)
            return
        until = time.monotonic() + tick
        while time.monotonic() < until:
            pass

    def _follower_should_stop(self) -> bool:
        """Ranks > 0 end with rank 0 (MPICH gives them no other signal)."""
        if self.rank == 0:
            return False
        try:
            with open(DONE_FILE, encoding="utf-8") as fh:
                return fh.read().strip() == self.stop_token
        except OSError:
            return False

    # -------------------------------------------------------- sense switches
    def _sense_switch(self, end_time: float) -> int | float | None:
        """Act on a `d3kil` file; an int is the exit code, a float a new end time."""
        path = next((p for p in ("d3kil", "D3KIL") if os.path.exists(p)), None)
        if path is None:
            return None
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                token = fh.read().strip().lower()
            os.remove(path)
        except OSError:
            return None
        out = self.out
        if token.startswith("endtime="):
            try:
                new_end = float(token.split("=", 1)[1])
            except ValueError:
                return None
            out.write([f" termination time                  = {new_end:.3E}"])
            return new_end
        word = token.rstrip(".")
        if word in ("sw1", "swd"):
            out.write(["", " *** kill file detected - terminating ****"])
            self._plot()
            self._dump()
            if word == "swd":
                self._line("write dynain file")
            self._plot()
            self._terminate("normal")
            return 0
        if word in ("stop", "quit"):
            self._terminate("normal")
            return 0
        if word == "sw2":
            remaining = 0.0
            out.write(T.eta_block(time.time() - self.started + remaining, remaining, end_time), message=False)
            out.flush()
        elif word == "sw3":
            self._dump()
        elif word == "sw4":
            self._plot()
        elif word == "swa":
            self._line("flush i/o buffers")
            out.flush()
        return None

    # ---------------------------------------------------------------- output
    def _line(self, event: str) -> None:
        self.out.write([T.progress(self.cycle, self.t, self.dt, event)])

    def _plot(self) -> None:
        name = "d3plot" if self.plots == 0 else f"d3plot{self.plots:02d}"
        self.plots += 1
        if self.rank == 0:
            _write_text(name, f"simulated d3plot state {self.plots} t={self.t:.6E}\n")
        self._line("write d3plot file")

    def _dump(self) -> None:
        name = "d3dump01" if self.parallel == "smp" else f"d3dump01.{self.rank:04d}"
        _write_text(name, json.dumps({"cycle": self.cycle, "t": self.t, "dt": self.dt, "end_time": self.end_time}) + "\n")
        self._line("write d3dump01 file")

    def _terminate(self, kind: str) -> None:
        self.out.write(T.termination(kind, self.cycle, self.t, self.ncpu, self.parallel, self.started, time.time()))
        if self.rank == 0:
            # d3hsp holds what messag holds (and, in the real solver, the keyword echo too)
            self.out.message.flush()
            shutil.copyfile(self.out.message.name, "d3hsp")


def _write_text(name: str, text: str) -> None:
    with open(name, "w", encoding="utf-8") as fh:
        fh.write(text)


def _read_dump(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.loads(fh.readline())
    except (OSError, ValueError):
        return {}


def rank_from_environment() -> tuple[int, int]:
    """The rank and size given by our fake proxy or by a real MPI launcher."""
    env = os.environ
    for rank_key, size_key in (("DYNAGUI_SIM_RANK", "DYNAGUI_SIM_NPROCS"), ("PMI_RANK", "PMI_SIZE"),
                               ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE")):
        if rank_key in env:
            try:
                return int(env[rank_key]), int(env.get(size_key, "1"))
            except ValueError:
                break
    return 0, 1


def main(argv: list[str] | None = None) -> int:
    rank, nprocs = rank_from_environment()
    return SimulatedRun(sys.argv[1:] if argv is None else argv, rank, nprocs).main()
