"""The status bar's permanent read-outs: cores, job counts, the health pass, ghosts."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QLabel, QStatusBar

from dynagui.core.health import HealthReport


class StatusLine:
    def __init__(self, bar: QStatusBar) -> None:
        self.cores = QLabel()
        self.counts = QLabel()
        self.health = QLabel()
        self.ghosts = QLabel()
        self.ghosts.setObjectName("ghostIndicator")
        for label in (self.cores, self.counts, self.health, self.ghosts):
            bar.addPermanentWidget(label)
        self.last_health_at: float | None = None
        self.show_ghosts(0)

    def health_reported(self, report: HealthReport) -> None:
        self.last_health_at = time.time()
        self.health.setToolTip(f"Last health pass at {time.strftime('%H:%M:%S')}: {report.processes} processes "
                               f"checked in {report.duration_s * 1000:.0f} ms")

    def health_age(self, interval: float) -> str:
        """'just now' while passes come on time; a count of seconds only once one is late, so the
        text (and the status bar's repaint) changes when there is something to notice."""
        if self.last_health_at is None:
            return "pending"
        age = time.time() - self.last_health_at
        return "just now" if age < 1.5 * interval + 1 else f"{age:.0f} s ago"

    def show(self, cores_used: int, budget: int | str, running: int, queued: int, interval: float) -> None:
        for label, text in ((self.cores, f"cores {cores_used}/{budget}"),
                            (self.counts, f"{running} running · {queued} queued"),
                            (self.health, f"health {self.health_age(interval)}")):
            if label.text() != text:
                label.setText(text)

    def show_ghosts(self, n: int) -> None:
        self.ghosts.setText(f"<span style='color:#9b59d0'>ghosts {n}</span>" if n else "ghosts 0")
