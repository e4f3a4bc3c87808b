"""The details of the selected job, in words."""

from __future__ import annotations

import html
import time

from PySide6.QtWidgets import QTextBrowser, QWidget

from dynagui.core.jobs import Job
from dynagui.gui.style import STATUS_COLOURS, format_duration


def _t(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "–"


def job_details_html(job: Job) -> str:
    e = html.escape
    rows = [
        ("Deck", e(job.deck)),
        ("Working folder", e(job.workdir)),
        ("Status", f'<b style="color:{STATUS_COLOURS[job.status]}">{e(job.status.value)}</b>'
                   + (f" — {e(job.reason)}" if job.reason else "")),
        ("Solver", f"{e(job.solver)}, ncpu {job.ncpu}, memory {e(job.memory or 'default')}"),
        ("Cores", ", ".join(map(str, job.cores)) if job.status.is_active else "–"),
        ("Progress", "–" if job.progress is None else f"{job.progress * 100:.1f} % (t = {job.sim_time:.4g} of "
                     f"{job.end_time:.4g})" if job.end_time else f"t = {job.sim_time}"),
        ("Cycle / dt", f"{job.cycle if job.cycle is not None else '–'} / "
                       f"{format(job.dt, '.3e') if job.dt is not None else '–'}"),
        ("ETA", format_duration(job.eta_s) if job.eta_s and job.status.is_active else "–"),
        ("Warnings / errors", f"{job.warnings} / {job.errors}"),
        ("Submitted", _t(job.submitted_at)), ("Started", _t(job.started_at)), ("Ended", _t(job.ended_at)),
        ("Exit code", "–" if job.exit_code is None else str(job.exit_code)),
        ("Processes", "<br>".join(f"{e(p.role)} {e(p.name)} PID {p.identity.pid} (started "
                                  f"{time.strftime('%H:%M:%S', time.localtime(p.identity.create_time))})"
                                  + (" — ended" if p.ended else "") for p in job.procs) or "–"),
        ("Command", f"<code>{e(' '.join(job.command))}</code>" if job.command else "–"),
        ("Log", e(job.log_path or "–")),
        ("Marker", f"<code>DYNAGUI_JOB={e(job.uid)}</code>"),
    ]
    body = "".join(f"<tr><td style='color:gray;padding-right:8px'>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f"<h3>Job {job.id}: {e(job.deck_name)}</h3><table>{body}</table>"


class DetailsPanel(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("details")
        self.setOpenLinks(False)
        self.show_job(None)

    def show_job(self, job: Job | None) -> None:
        if job is None:
            self.setHtml("<p style='color:gray'>Select a job to see its details: deck, folder, solver, "
                         "command line, process identities, timing.</p>")
        else:
            self.setHtml(job_details_html(job))
