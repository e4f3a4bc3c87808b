"""The progress column: a bar with percent and ETA, the queue place, or the reason a job ended."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionProgressBar, QStyleOptionViewItem

from dynagui.core.jobs import Job, JobStatus
from dynagui.gui.jobmodel import JobRole, QueuePosRole
from dynagui.gui.style import STATUS_COLOURS, format_duration


def progress_text(job: Job, queue_pos: int | None) -> str:
    if job.status == JobStatus.QUEUED:
        return f"#{queue_pos} in queue" if queue_pos else "queued"
    if job.status in (JobStatus.FAILED, JobStatus.STOPPED):
        return job.reason
    if job.progress is None:
        return "starting…" if job.status == JobStatus.STARTING else ""
    text = f"{job.progress * 100:.0f} %"
    if job.status.is_active and job.eta_s:
        text += f"  {format_duration(job.eta_s)} left"
    return text


class ProgressDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        job: Job | None = index.data(JobRole)
        if job is None:
            return super().paint(painter, option, index)
        text = progress_text(job, index.data(QueuePosRole))
        style = option.widget.style() if option.widget else QApplication.style()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        if job.progress is not None and job.status in (JobStatus.RUNNING, JobStatus.STOPPING, JobStatus.FINISHED,
                                                       JobStatus.STARTING):
            bar = QStyleOptionProgressBar()
            bar.rect = QRect(option.rect.adjusted(2, 3, -2, -3))
            bar.minimum, bar.maximum = 0, 1000
            bar.progress = int(round(job.progress * 1000))
            bar.text = text
            bar.textVisible = True
            bar.state = option.state | QStyle.StateFlag.State_Enabled
            bar.palette = option.palette
            bar.palette.setColor(bar.palette.ColorRole.Highlight, QColor(STATUS_COLOURS[job.status]))
            style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
            return
        painter.save()
        colour = QColor(STATUS_COLOURS[job.status]) if job.status == JobStatus.FAILED else option.palette.text().color()
        painter.setPen(colour)
        elided = option.fontMetrics.elidedText(text, Qt.TextElideMode.ElideRight, option.rect.width() - 8)
        painter.drawText(option.rect.adjusted(4, 0, -4, 0), int(Qt.AlignmentFlag.AlignVCenter), elided)
        painter.restore()
