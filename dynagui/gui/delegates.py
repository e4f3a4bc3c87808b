"""The progress column: a bar with percent and ETA, the queue place, or the reason a job ended."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

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
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        if job.progress is not None and job.status in (JobStatus.RUNNING, JobStatus.STOPPING, JobStatus.FINISHED,
                                                       JobStatus.STARTING):
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            frame = QRectF(option.rect.adjusted(3, 4, -3, -4))
            colour = QColor(STATUS_COLOURS[job.status])
            painter.setPen(QPen(colour.darker(110), 1))
            painter.setBrush(option.palette.base())
            painter.drawRoundedRect(frame, 3, 3)
            fill = QRectF(frame)
            fill.setWidth(frame.width() * max(0.0, min(1.0, job.progress)))
            colour.setAlpha(110)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(fill, 3, 3)
            painter.setPen(option.palette.text().color())
            painter.drawText(frame, int(Qt.AlignmentFlag.AlignCenter), text)
            painter.restore()
            return
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            colour = option.palette.highlightedText().color()
        elif job.status == JobStatus.FAILED:
            colour = QColor(STATUS_COLOURS[job.status])
        else:
            colour = option.palette.text().color()
        painter.setPen(colour)
        elided = option.fontMetrics.elidedText(text, Qt.TextElideMode.ElideRight, option.rect.width() - 8)
        painter.drawText(option.rect.adjusted(4, 0, -4, 0), int(Qt.AlignmentFlag.AlignVCenter), elided)
        painter.restore()
