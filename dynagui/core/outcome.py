"""A job's verdict: what LS-DYNA printed, whether we asked it to stop, how the tree ended.

The exit code alone never decides (LS-DYNA exits 0 after a sense-switch stop; a
crash may exit 0 on Windows). Each outcome is a small value whose `reason` is the
sentence an engineer reads in the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dynagui.core.jobs import JobStatus
from dynagui.core.output import RunSummary

PROCESS_DIED = "process died"


@dataclass(frozen=True)
class Outcome:
    status: JobStatus
    reason: str

    def __str__(self) -> str:
        return f"{self.status.value}: {self.reason}" if self.reason else self.status.value


def _exit_words(exit_code: int | None) -> str:
    if exit_code is None:
        return "exit code unknown"
    if exit_code < 0:
        return f"killed by signal {-exit_code}"
    return f"exit code {exit_code}"


def decide(summary: RunSummary, stop_requested: bool, exit_record: dict[str, Any] | None) -> Outcome:
    """The final status of a job whose processes have all ended."""
    code = exit_record.get("exit_code") if exit_record else None
    if exit_record and exit_record.get("launch_error"):
        return Outcome(JobStatus.FAILED, f"could not start: {exit_record['launch_error']}")
    if summary.error_banner:
        diag = summary.first_error()
        what = f"{diag.text} ({diag.label()})" if diag and diag.text else (diag.label() if diag else "see the log")
        return Outcome(JobStatus.FAILED, f"error termination: {what}")
    if summary.normal_banner:
        if stop_requested and (summary.kill_file_detected or not summary.termination_reached):
            dump = ", restart dump d3dump01 written" if summary.kill_file_detected else ""
            return Outcome(JobStatus.STOPPED, f"stopped by you{dump}")
        return Outcome(JobStatus.FINISHED, "normal termination")
    if summary.licence is None and summary.licence_errors:
        return Outcome(JobStatus.FAILED, f"licence failure: {summary.licence_errors[-1]}")
    if stop_requested:
        return Outcome(JobStatus.STOPPED, f"stopped by you: the solver was terminated ({_exit_words(code)})")
    if summary.crash:
        return Outcome(JobStatus.FAILED, f"{PROCESS_DIED}: crashed with {summary.crash}")
    if summary.mpi_abort:
        return Outcome(JobStatus.FAILED, f"{PROCESS_DIED}: MPI aborted ({summary.mpi_abort.strip('= ')})")
    return Outcome(JobStatus.FAILED,
                   f"{PROCESS_DIED}: the solver ended without a termination message ({_exit_words(code)})")
