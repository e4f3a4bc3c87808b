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
from typing import Any

from dynagui.core.output_lines import LineReader, stamp_epoch
from dynagui.core.runsummary import (BannerField, Crash, Diagnostic, DtCollapse, EndTimeKnown, LicenceLine, Marker,
                                     Progress, RunSummary, Termination, summary_to_dict)

__all__ = ["OutputParser", "parse_file", "stamp_epoch", "summary_to_dict", "Progress", "RunSummary", "DtCollapse",
           "Termination", "Diagnostic", "Crash", "Marker", "LicenceLine", "BannerField", "EndTimeKnown"]

MAX_LINE = 64 * 1024  # longer lines are cut; the rest of such a line is skipped
RATE_WINDOW_S = 120.0


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _ends_with_stamp(rest: str) -> bool:
    """Whether the words end with `mm/dd/yy hh:mm:ss` (the slow path: any blanks between them)."""
    words = rest.split()
    return len(words) >= 2 and words[-1][2:3] == ":" and words[-2][2:3] == "/"


def _progress(line: str) -> Progress:
    """A progress line: cycle, 't', t, 'dt', dt, event words..., date, time."""
    w = line.split()
    return Progress(int(w[0]), _float(w[2]) or 0.0, _float(w[4]) or 0.0, " ".join(w[5:-2]), w[-2] + " " + w[-1])


class OutputParser(LineReader):
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
        events = self.flush()
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
                # cycle, "t", t, "dt", dt, then the rest: event words, mm/dd/yy hh:mm:ss. Splitting
                # off just five words and checking the stamp's separators with one slice (as LS-DYNA
                # prints it: one blank between date and time, none after; else by words, the slow
                # path) is the cheapest exact test found.
                w = line.split(None, 5)
                if len(w) == 6:
                    cycle, t_word, _t, dt_word, dt, rest = w
                    stamp = rest[-17:]
                    if (t_word == "t" and dt_word == "dt" and cycle.isdigit() and (
                            stamp[2::3] == "// ::" and len(stamp) == 17 or _ends_with_stamp(rest))):
                        count += 1
                        last = line
                        if stamp != prev_stamp:
                            prev_stamp = stamp
                            self._note_stamp(line.split())
                        if dt != prev_dt or not count & 63:
                            # new dt values, and every 64th line, feed the running median
                            prev_dt = dt
                            collapse = self._note_dt(w)
                            if collapse is not None:
                                append(collapse)
                        if rest[:6] != "flush ":
                            # file writes (d3plot, d3dump, ...) are facts worth an event each;
                            # "flush i/o buffers" heartbeats only move the summary on
                            last_emitted = line
                            append(_progress(line))
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
    def _settle_progress(self, m: str, emitted: str | None, events: list[Any]) -> None:
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
