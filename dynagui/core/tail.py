"""Following a job's log file: read what was appended, parse it, remember the offset."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dynagui.core.output import OutputParser
from dynagui.core.solver import deck_keywords_end_time

READ_LIMIT = 8 << 20  # per call: a huge backlog is worked off over several ticks


class LogTailer:
    """Incremental reader of one solver log. Not thread-safe: one owner thread."""

    def __init__(self, path: str, deck: str | None = None, resume_offset: int = 0) -> None:
        self.path = path
        self.parser = OutputParser()
        self.offset = 0
        if deck:
            self.parser.set_deck_end_time(deck_keywords_end_time(Path(deck)))
        if resume_offset:
            # Rebuild the parser's state from what was already seen (its events were
            # stored then), so the summary is whole and nothing is reported twice.
            self._catch_up(resume_offset)

    def _catch_up(self, until: int) -> None:
        try:
            with open(self.path, "rb") as fh:
                while self.offset < until:
                    data = fh.read(min(READ_LIMIT, until - self.offset))
                    if not data:
                        break
                    self.offset += len(data)
                    self.parser.feed(data)
        except OSError:
            pass

    def poll(self) -> list[Any]:
        """Events from the bytes appended since the last call ([] when nothing new)."""
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return []
        if size < self.offset:  # truncated or replaced: start again
            self.parser = OutputParser()
            self.offset = 0
        if size == self.offset:
            return []
        events: list[Any] = []
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                while True:
                    data = fh.read(READ_LIMIT)
                    if not data:
                        break
                    self.offset += len(data)
                    events += self.parser.feed(data)
        except OSError:
            return events
        return events

    def finish(self) -> list[Any]:
        """The processes are gone: read the rest and settle the verdict."""
        events = self.poll()
        return events + self.parser.finish()
