"""Incremental parser for LS-DYNA's printed output.

Feed it bytes as they arrive (`OutputParser.feed`); it returns typed events and
keeps a running `RunSummary`. The decisive facts are taken from the lines LS-DYNA
prints, never from the exit code: the normal/error termination banners (printed
twice, counted once), a `forrtl: severe` crash, an MPI abort, or the end of the
stream with no banner at all (`finish()`), which is a crash.

The hot path is the progress line: a cheap substring test precedes the regex,
and only lines that change something expensive (a new wall-clock stamp, a new
dt value) do more than a tuple update.
"""

from __future__ import annotations

import bisect
import collections
import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from dynagui.core import lsdyna_patterns as P

MAX_LINE = 64 * 1024  # longer lines are cut; the rest of such a line is skipped
MAX_DIAGNOSTICS = 500
RATE_WINDOW_S = 120.0


class Progress(NamedTuple):
    """One progress line: `cycle t T dt DT event stamp`."""

    cycle: int
    t: float
    dt: float
    event: str
    stamp: str


@dataclass(frozen=True, slots=True)
class BannerField:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class LicenceLine:
    status: str  # "error" (an [license/error] line), "obtained", "student", "option"
    text: str


@dataclass(frozen=True, slots=True)
class EndTimeKnown:
    end_time: float
    source: str  # "eta-block", "deck" or "endtime-switch"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: str  # "warning" | "error"
    code: int
    group: str
    sub: int = 0
    text: str = ""

    def label(self) -> str:
        return f"{self.group}+{self.sub}"


@dataclass(frozen=True, slots=True)
class Marker:
    """A one-line fact: termination reached, kill file, phase change, element failure."""

    kind: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Termination:
    kind: str  # "normal" | "error"
    stamp: str | None


@dataclass(frozen=True, slots=True)
class Crash:
    kind: str  # "forrtl" | "mpi-abort"
    text: str


@dataclass(frozen=True, slots=True)
class DtCollapse:
    cycle: int
    t: float
    dt: float
    median_dt: float


@dataclass
class RunSummary:
    """Everything an engineer reads off a run's printed output."""

    version: str | None = None
    revision: str | None = None
    parallel: str | None = None  # "smp" | "mpp"
    precision: str | None = None  # "single" | "double"
    platform: str | None = None
    hostname: str | None = None
    mpp_procs: int | None = None
    run_started: str | None = None  # banner "Date: mm/dd/yyyy Time: hh:mm:ss"
    licence: str | None = None  # kind obtained ("ANSYS", ...), or "failed" once the stream ended without one
    licence_errors: list[str] = field(default_factory=list)
    student_days: int | None = None
    command_line: str | None = None
    input_file: str | None = None
    memory_words: int | None = None
    phase: str = "starting"
    end_time: float | None = None
    end_time_source: str | None = None
    cycle: int | None = None
    sim_time: float | None = None
    dt: float | None = None
    last_event: str | None = None
    last_stamp: str | None = None
    progress_lines: int = 0
    eta_block: dict[str, int] = field(default_factory=dict)
    added_mass: float | None = None
    mass_increase_pct: float | None = None
    warnings: int = 0
    errors: int = 0
    suppressed: dict[int, int] = field(default_factory=dict)  # code -> screen cap ("exceeds N times")
    diagnostics: list[Diagnostic] = field(default_factory=list)
    element_failures: int = 0
    termination_reached: bool = False
    kill_file_detected: bool = False
    normal_banner: bool = False
    error_banner: bool = False
    banner_stamp: str | None = None
    crash: str | None = None
    mpi_abort: str | None = None
    implicit_steps: int = 0
    problem_time: float | None = None
    problem_cycle: int | None = None
    elapsed_s: int | None = None
    threads: int | None = None
    dt_collapse: DtCollapse | None = None
    ended: bool = False  # the stream is complete (the process exited)

    @property
    def verdict(self) -> str:
        if self.error_banner:
            return "error"
        if self.normal_banner:
            return "normal"
        if self.ended or self.crash or self.mpi_abort:
            return "crashed"
        return "running"

    @property
    def progress(self) -> float | None:
        if self.end_time and self.sim_time is not None and self.end_time > 0:
            return max(0.0, min(1.0, self.sim_time / self.end_time))
        return None

    def first_error(self) -> Diagnostic | None:
        """The first error worth naming: the one that explains, not the summary count."""
        errors = [d for d in self.diagnostics if d.severity == "error"]
        for diag in errors:
            if diag.code not in (10133, 20018):  # "input data failed with N errors" summaries
                return diag
        return errors[0] if errors else None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _is_stamp(day: str, clock: str) -> bool:
    """`mm/dd/yy` `hh:mm:ss`, the stamp that ends every progress line."""
    return len(clock) == 8 and clock[2] == ":" and clock[5] == ":" and len(day) == 8 and day[2] == "/"


def _progress(w: list[str]) -> Progress:
    """A progress line's words: cycle, 't', t, 'dt', dt, event words..., date, time."""
    return Progress(int(w[0]), _float(w[2]) or 0.0, _float(w[4]) or 0.0, " ".join(w[5:-2]), w[-2] + " " + w[-1])


def stamp_epoch(stamp: str) -> float | None:
    try:
        return _dt.datetime.strptime(" ".join(stamp.split()), "%m/%d/%y %H:%M:%S").timestamp()
    except ValueError:
        return None


class OutputParser:
    """Incremental LS-DYNA output parser. Not thread-safe; one per stream."""

    def __init__(self) -> None:
        self.summary = RunSummary()
        self._partial = bytearray()
        self._skipping = False  # inside an over-long line, dropping bytes until its newline
        self._pending_diag: tuple[str, int, str, int, list[str]] | None = None
        self._prev_dt_text: str | None = None
        self._progress_count = 0
        self._prev_stamp: str | None = None
        self._dt_values: list[float] = []  # sorted, for the running median
        self._rate_first: tuple[float, float] | None = None
        self._rate_points: collections.deque[tuple[float, float]] = collections.deque()
        self._eta_block_wall: float | None = None

    # ----------------------------------------------------------------- input
    def feed(self, data: bytes) -> list[Any]:
        """Parse a chunk of bytes; returns the events of the complete lines in it."""
        if not data:
            return []
        last_nl = data.rfind(b"\n")
        if last_nl < 0:
            self._keep_partial(data)
            return []
        head = data[: last_nl + 1]
        if self._skipping:
            # the rest of an over-long line is dropped; its first MAX_LINE bytes are kept
            self._skipping = False
            head = head[head.find(b"\n") :]
        if self._partial:
            head = bytes(self._partial) + head
            self._partial.clear()
        self._keep_partial(data[last_nl + 1 :])
        return self._parse_text(head)

    def finish(self) -> list[Any]:
        """The stream is complete (the process ended): flush the last line and settle the verdict."""
        events: list[Any] = []
        if self._partial:
            events = self._parse_text(bytes(self._partial) + b"\n")
            self._partial.clear()
        diag = self._close_diag()
        if diag is not None:
            events.append(diag)
        self.summary.ended = True
        if self.summary.licence is None and self.summary.licence_errors:
            self.summary.licence = "failed"
        if self.summary.verdict == "crashed" and self.summary.phase not in ("crashed",):
            self.summary.phase = "crashed"
        return events

    def flush(self) -> list[Any]:
        """Parse a trailing line without a newline, without declaring the stream ended."""
        events: list[Any] = []
        if self._partial:
            events = self._parse_text(bytes(self._partial) + b"\n")
            self._partial.clear()
        diag = self._close_diag()
        if diag is not None:
            events.append(diag)
        return events

    def parse_all(self, data: bytes) -> RunSummary:
        """Convenience for whole files: feed everything, then finish."""
        self.feed(data)
        self.finish()
        return self.summary

    def _keep_partial(self, tail: bytes) -> None:
        if not tail:
            return
        if self._skipping:
            return
        room = MAX_LINE - len(self._partial)
        if len(tail) > room:
            self._partial += tail[:room]
            self._skipping = True  # the rest of this line is dropped: memory stays bounded
        else:
            self._partial += tail

    def _parse_text(self, raw: bytes) -> list[Any]:
        if b"\x00" in raw:
            raw = raw.replace(b"\x00", b"")
        text = raw.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r", "")
        events: list[Any] = []
        append = events.append
        summary = self.summary
        prog_match = P.PROGRESS.match
        other = self._other_line
        lines = text.split("\n")
        lines.pop()  # the text ends with a newline: the last piece is empty
        # The hot path: progress lines are recognised by their words, not by a regex
        # (str.split is ~3x faster than the equivalent pattern here); only the latest
        # line of a run of them is turned into numbers.
        last = None
        last_emitted = None
        prev_stamp = self._prev_stamp
        prev_dt = self._prev_dt_text
        count = self._progress_count
        for line in lines:
            if " t " in line:
                w = line.split()
                if len(w) >= 7 and w[1] == "t" and w[3] == "dt" and w[0].isdigit() and _is_stamp(w[-2], w[-1]):
                    count += 1
                    last = w
                    stamp = w[-1]
                    if stamp != prev_stamp:
                        prev_stamp = stamp
                        self._note_stamp(w)
                    if w[4] != prev_dt or not count & 63:
                        # new dt values, and every 64th line, feed the running median
                        prev_dt = w[4]
                        collapse = self._note_dt(w)
                        if collapse is not None:
                            append(collapse)
                    if w[5] != "flush":
                        # file writes (d3plot, d3dump, ...) are facts worth an event each;
                        # "flush i/o buffers" heartbeats only move the summary on
                        last_emitted = w
                        append(_progress(w))
                    continue
            if last is not None:
                self._progress_count = count
                self._settle_progress(last, last_emitted, events)
                last = last_emitted = None
            if len(line) > MAX_LINE:
                line = line[:MAX_LINE]
            ev_ = other(line)
            if ev_ is not None:
                append(ev_)
        self._progress_count = count
        if last is not None:
            self._settle_progress(last, last_emitted, events)
        self._prev_stamp = prev_stamp
        self._prev_dt_text = prev_dt
        return events

    # ------------------------------------------------------------ progress
    def _settle_progress(self, m: list[str], emitted: list[str] | None, events: list[Any]) -> None:
        """Bring the summary up to the latest line of a run of progress lines."""
        summary = self.summary
        p = _progress(m)
        summary.progress_lines = self._progress_count
        summary.cycle, summary.sim_time, summary.dt = p.cycle, p.t, p.dt
        summary.last_event, summary.last_stamp = p.event, p.stamp
        if summary.phase in ("starting", "licensing", "licensed", "reading_input", "initialising"):
            summary.phase = "running"
        if m is not emitted:
            events.append(p)  # the latest heartbeat, once per chunk

    def _note_stamp(self, w: list[str]) -> None:
        wall = stamp_epoch(w[-2] + " " + w[-1])
        t = _float(w[2])
        if wall is None or t is None:
            return
        if self._rate_first is None:
            self._rate_first = (wall, t)
        pts = self._rate_points
        pts.append((wall, t))
        while pts and wall - pts[0][0] > RATE_WINDOW_S:
            pts.popleft()

    def _note_dt(self, w: list[str]) -> DtCollapse | None:
        values = self._dt_values
        dt = _float(w[4])
        if dt is None:
            return None
        if values and dt > 0:
            median = values[len(values) // 2]
            if dt * 10.0 <= median:
                if self.summary.dt_collapse is None:
                    self.summary.dt_collapse = DtCollapse(int(w[0]), _float(w[2]) or 0.0, dt, median)
                    return self.summary.dt_collapse
                return None  # after a collapse the median keeps its pre-collapse value
        if len(values) >= 4096:  # a bounded, evenly thinned history keeps the median honest
            del values[::2]
        bisect.insort(values, dt)
        return None

    # ------------------------------------------------------ everything else
    def _other_line(self, line: str) -> Any:
        s = line.strip()
        if self._pending_diag is not None:
            # A diagnostic's text is the indented block under its header, up to a blank line.
            if s and not s.startswith(("***", "Message ")) and len(self._pending_diag[4]) < 4:
                self._pending_diag[4].append(s)
                return None
            diag = self._close_diag()
            if not s:
                return diag
            if not s.startswith(("***", "Message ")):
                return diag
            # another header or a screen-cap note follows at once: parse it too
        if not s:
            return None
        c = s[0]
        summary = self.summary
        if c == "*":
            if s.startswith("*** "):
                m = P.DIAG.match(s)
                if m:
                    sev = "warning" if m["sev"] == "Warning" else "error"
                    if sev == "warning":
                        summary.warnings += 1
                    else:
                        summary.errors += 1
                    self._pending_diag = (sev, int(m["code"]), m["grp"], int(m["sub"]), [])
                    return None
                if P.TERM_REACHED.match(s):
                    summary.termination_reached = True
                    summary.phase = "ending"
                    return Marker("termination-reached")
                if P.KILL_FILE.match(s):
                    summary.kill_file_detected = True
                    summary.phase = "ending"
                    return Marker("kill-file-detected")
            return None
        if c == "|":
            return self._banner_line(s)
        if c == "N":
            m = P.NORMAL.match(s)
            if m:
                return self._termination("normal", m["stamp"])
            return None
        if c == "E":
            m = P.ERROR.match(s)
            if m:
                return self._termination("error", m["stamp"])
            m = P.LIC_EXEC.match(s)
            if m:
                summary.licence = m["kind"]
                summary.phase = "licensed"
                return LicenceLine("obtained", m["kind"])
            m = P.ELAPSED.match(s)
            if m:
                summary.elapsed_s = int(m["sec"])
                if m["thr"]:
                    summary.threads = int(m["thr"])
                    if m["kind"] == "MPP procs":
                        summary.parallel = summary.parallel or "mpp"
            return None
        if c == "[":
            m = P.LIC_ERR.match(s)
            if m:
                if len(summary.licence_errors) < 50:
                    summary.licence_errors.append(m["msg"])
                if summary.phase == "starting":
                    summary.phase = "licensing"
                return LicenceLine("error", m["msg"])
            return None
        if c in "LSlD":
            return self._identity_line(s)
        if c == "C":
            m = P.CMDLINE.match(s)
            if m:
                summary.command_line = m["opt"]
                return None
            return None
        if c == "I":
            m = P.INPUT.match(s)
            if m:
                summary.input_file = m["path"]
                return None
            if s.startswith("Initial reading of file"):
                summary.phase = "reading_input"
                return Marker("phase", "reading_input")
            return None
        if c == "M":
            return self._m_line(s)
        if c == "e":
            m = P.ETA.match(s)
            if m:
                summary.eta_block[m["what"].replace(" ", "_")] = int(m["sec"])
                if m["what"] == "clock time to complete" and summary.last_stamp:
                    self._eta_block_wall = stamp_epoch(summary.last_stamp)
            return None
        if c == "t":
            m = P.ETA_ENDTIME.match(s)
            if m:
                return self._set_end_time(float(m["t"]), "eta-block")
            return None
        if c == "P":
            m = P.PROBLEM_TIME.match(s)
            if m:
                summary.problem_time = float(m["t"])
                return None
            m = P.PROBLEM_CYCLE.match(s)
            if m:
                summary.problem_cycle = int(m["n"])
            return None
        if c == "f":
            m = P.FORRTL.match(s)
            if m and summary.crash is None:
                summary.crash = f"forrtl: severe ({m['code']}): {m['msg']}"
                summary.phase = "crashed"
                return Crash("forrtl", summary.crash)
            return None
        if c == "B":
            if s.startswith("Beginning of keyword reader"):
                summary.phase = "reading_input"
                return Marker("phase", "reading_input")
            m = P.IMPLICIT_STEP.match(s)
            if m:
                summary.implicit_steps += 1
                summary.phase = "running"
                return Marker("implicit-step", s)
        if c == "i":
            if s.startswith("input of data is completed"):
                summary.phase = "initialising"
                return Marker("phase", "initialising")
            if s.startswith("initialization completed"):
                summary.phase = "running"
                return Marker("phase", "running")
            return None
        if c == "a":
            m = P.ADDED_MASS.match(s)
            if m:
                summary.added_mass = float(m["v"])
            return None
        if c == "p":
            m = P.MASS_INCREASE.match(s)
            if m:
                summary.mass_increase_pct = float(m["v"])
            return None
        if "failed at time" in s:
            m = P.ELEMENT_FAILED.match(s)
            if m:
                summary.element_failures += 1
                return Marker("element-failed", s)
        if "MPI" in s or "BAD TERMINATION" in s:
            m = P.MPI_ABORT.match(s)
            if m and summary.mpi_abort is None:
                summary.mpi_abort = s
                summary.phase = "crashed"
                return Crash("mpi-abort", s)
        return None

    def _m_line(self, s: str) -> Any:
        summary = self.summary
        m = P.SUPPRESSED.match(s)
        if m:
            code = int(m["code"])
            summary.suppressed[code] = int(m["n"])
            return Marker("suppressed", s)
        m = P.MEM_CMD.match(s)
        if m:
            summary.memory_words = int(m["words"])
            return None
        m = P.MPP_PROCS.match(s)
        if m:
            summary.mpp_procs = int(m["n"])
            summary.parallel = "mpp"
            return BannerField("MPP procs", m["n"])
        return None

    def _identity_line(self, s: str) -> Any:
        summary = self.summary
        m = P.LIC_OPTION.match(s)
        if m:
            return LicenceLine("option", m["opt"])
        m = P.STUDENT.match(s)
        if m:
            summary.student_days = int(m["days"])
            return LicenceLine("student", s)
        m = P.BANNER_DATE.match(s)
        if m:
            summary.run_started = f"{m['d']} {m['t']}"
            return None
        m = P.VERSION_STAMP.match(s)
        if m:
            summary.parallel = summary.parallel or m["par"].lower()
            summary.precision = summary.precision or ("double" if m["prec"] == "d" else "single")
        return None

    def _banner_line(self, s: str) -> Any:
        m = P.BANNER_KV.match(s)
        if not m:
            return None
        key, val = m["key"], m["val"].strip()
        summary = self.summary
        if key == "Version":
            vm = P.VERSION_VALUE.match(val)
            if vm:
                summary.parallel = "mpp" if vm["par"].lower() == "mpp" else vm["par"].lower()
                summary.precision = "double" if vm["prec"].lower() == "d" else "single"
                summary.version = vm["ver"]
            else:
                summary.version = val.split()[0] if val else None
            if summary.phase == "starting":
                summary.phase = "licensing"
        elif key == "Revision":
            summary.revision = val.split()[0] if val else None
        elif key == "Platform":
            summary.platform = val
        elif key == "Hostname":
            summary.hostname = val
        elif key == "Precision" and summary.precision is None:
            summary.precision = "double" if val.lower().startswith("double") else "single"
        return BannerField(key, val)

    def _termination(self, kind: str, stamp: str | None) -> Any:
        summary = self.summary
        already = summary.normal_banner or summary.error_banner
        if kind == "normal":
            summary.normal_banner = True
            summary.phase = "finished_ok"
        else:
            summary.error_banner = True
            summary.phase = "finished_error"
        if already:
            return None  # the banner is printed twice; the second one is not a new fact
        summary.banner_stamp = stamp
        return Termination(kind, stamp)

    def _close_diag(self) -> Diagnostic | None:
        if self._pending_diag is None:
            return None
        sev, code, grp, sub, lines = self._pending_diag
        self._pending_diag = None
        diag = Diagnostic(sev, code, grp, sub, " ".join(lines)[:300])
        if len(self.summary.diagnostics) < MAX_DIAGNOSTICS:
            self.summary.diagnostics.append(diag)
        return diag

    def _set_end_time(self, end_time: float, source: str) -> EndTimeKnown:
        self.summary.end_time = end_time
        self.summary.end_time_source = source
        return EndTimeKnown(end_time, source)

    # -------------------------------------------------------------- derived
    def set_deck_end_time(self, end_time: float | None) -> None:
        """Use the deck's *CONTROL_TERMINATION ENDTIM until the solver prints its own."""
        if end_time and self.summary.end_time is None:
            self._set_end_time(end_time, "deck")

    def set_end_time_override(self, end_time: float) -> None:
        """The user changed the end time with an `endtime=` sense switch."""
        self._set_end_time(end_time, "endtime-switch")

    def sim_rate(self) -> float | None:
        """Simulation time per wall second, a blend of the whole run and the recent window."""
        pts = self._rate_points
        first = self._rate_first
        if first is None or len(pts) < 2:
            return None
        last = pts[-1]
        overall = (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else None
        recent = (last[1] - pts[0][1]) / (last[0] - pts[0][0]) if last[0] > pts[0][0] else None
        rates = [r for r in (overall, recent) if r is not None and r > 0]
        if not rates:
            return None
        return sum(rates) / len(rates)

    def eta_seconds(self) -> float | None:
        """Seconds (log time) until the end time is reached, or None when unknown."""
        s = self.summary
        if s.verdict != "running":
            return 0.0 if s.verdict == "normal" else None
        if not s.end_time or s.sim_time is None:
            return None
        remaining = max(0.0, s.end_time - s.sim_time)
        rate = self.sim_rate()
        if rate:
            return remaining / rate
        block = s.eta_block.get("clock_time_to_complete")
        if block is not None:
            return float(block)
        return None


def summary_to_dict(parser: OutputParser) -> dict[str, Any]:
    """The summary as plain JSON-ready data (the `dynagui parse --json` contract)."""
    s = parser.summary
    eta = parser.eta_seconds()
    return {
        "verdict": s.verdict,
        "phase": s.phase,
        "cycle": s.cycle if s.cycle is not None else s.problem_cycle,
        "sim_time": s.sim_time if s.sim_time is not None else s.problem_time,
        "end_time": s.end_time,
        "end_time_source": s.end_time_source,
        "progress": s.progress,
        "dt": s.dt,
        "version": s.version,
        "revision": s.revision,
        "precision": s.precision,
        "parallel": s.parallel,
        "mpp_procs": s.mpp_procs,
        "platform": s.platform,
        "licence": s.licence,
        "licence_errors": list(s.licence_errors),
        "warnings": s.warnings,
        "errors": s.errors,
        "suppressed": {str(k): v for k, v in s.suppressed.items()},
        "first_error": _diag_text(s.first_error()),
        "element_failures": s.element_failures,
        "termination_reached": s.termination_reached,
        "kill_file_detected": s.kill_file_detected,
        "crash": s.crash or s.mpi_abort,
        "eta_s": None if eta is None or math.isnan(eta) else round(eta, 1),
        "sim_rate": parser.sim_rate(),
        "dt_collapse": None
        if s.dt_collapse is None
        else {"cycle": s.dt_collapse.cycle, "t": s.dt_collapse.t, "dt": s.dt_collapse.dt, "median_dt": s.dt_collapse.median_dt},
        "added_mass": s.added_mass,
        "mass_increase_pct": s.mass_increase_pct,
        "implicit_steps": s.implicit_steps,
        "problem_time": s.problem_time,
        "problem_cycle": s.problem_cycle,
        "elapsed_s": s.elapsed_s,
        "threads": s.threads,
        "progress_lines": s.progress_lines,
    }


def _diag_text(diag: Diagnostic | None) -> str | None:
    if diag is None:
        return None
    return f"{diag.text or 'error ' + str(diag.code)} ({diag.label()})"


def parse_file(path: str, chunk: int = 1 << 20, ended: bool = False) -> OutputParser:
    """Parse an output file from disk, a chunk at a time.

    With `ended=False` the file may belong to a run that is still going: a stream
    without a banner then reads as "running" unless it shows a crash.
    """
    parser = OutputParser()
    with open(path, "rb") as fh:
        while True:
            data = fh.read(chunk)
            if not data:
                break
            parser.feed(data)
    if ended:
        parser.finish()
    else:
        parser.flush()
    return parser
