"""SVG icons from resources/icons (inside the package when installed, beside it in a checkout)."""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtGui import QIcon

from dynagui.core.jobs import JobStatus


def resources_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    installed = here / "resources"
    return installed if installed.is_dir() else here.parent / "resources"


@functools.lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    return QIcon(str(resources_dir() / "icons" / f"{name}.svg"))


def status_icon(status: JobStatus) -> QIcon:
    return icon(f"status-{status.value}")
