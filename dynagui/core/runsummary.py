"""What an LS-DYNA run's printed output says: the typed events and the running summary."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from dynagui.core.output import OutputParser


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


def summary_to_dict(parser: "OutputParser") -> dict[str, Any]:
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


