"""Status words and colours, the same everywhere (table, details, tray)."""

from __future__ import annotations

from dynagui.core.jobs import JobStatus

STATUS_COLOURS = {
    JobStatus.QUEUED: "#8a8f98",
    JobStatus.STARTING: "#3d8bfd",
    JobStatus.RUNNING: "#3d8bfd",
    JobStatus.STOPPING: "#e0a020",
    JobStatus.FINISHED: "#2e9d4a",
    JobStatus.STOPPED: "#6b7fa3",
    JobStatus.FAILED: "#d64545",
}
GHOST_COLOUR = "#9b59d0"


def status_word(status: JobStatus) -> str:
    return status.value


def format_duration(seconds: float | None) -> str:
    """'4 s', '3 min 12 s', '1 h 12 min', '2 d 3 h': how an engineer says it."""
    if seconds is None:
        return ""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"
