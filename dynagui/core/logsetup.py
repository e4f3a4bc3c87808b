"""Logging to a rotating file in the data folder (and nowhere else unless asked)."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(process)d] %(message)s"


def configure_logging(log_dir: Path, level: int = logging.INFO, name: str = "dynagui.log") -> Path:
    """Attach one rotating file handler to the `dynagui` logger; idempotent per file."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / name
    logger = logging.getLogger("dynagui")
    logger.setLevel(level)
    for handler in logger.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
    return path
