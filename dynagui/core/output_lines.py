"""Every line of LS-DYNA output that is not a progress line: banners, licence, diagnostics, summary.

`LineReader` is the half of the parser that reads these (rarer) lines; the hot
progress-line path lives in `output.OutputParser`, which inherits this.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from dynagui.core import lsdyna_patterns as P
from dynagui.core.runsummary import (BannerField, Crash, Diagnostic, EndTimeKnown, LicenceLine, Marker, RunSummary,
                                     Termination)

MAX_DIAGNOSTICS = 500


def stamp_epoch(stamp: str) -> float | None:
    try:
        return _dt.datetime.strptime(" ".join(stamp.split()), "%m/%d/%y %H:%M:%S").timestamp()
    except ValueError:
        return None


class LineReader:
    summary: RunSummary
    _pending_diag: tuple[str, int, str, int, list[str]] | None
    _eta_block_wall: float | None

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

