"""The files a launch attempt leaves in its run folder, shared by shepherd and engine.

    spec.json       what to run (written by the engine before the shepherd starts)
    shepherd.json   the shepherd's own identity
    procs.jsonl     every process identity the shepherd found, one JSON object a line
    exit.json       the outcome, written atomically once the whole tree has ended
    shepherd.err    the shepherd's own stderr (a traceback there is a bug of ours)
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


class RunFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        """Write-then-rename: a reader sees the old file or the whole new one, never half."""
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / name)
        except BaseException:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise

    def read_json(self, name: str) -> dict[str, Any] | None:
        try:
            with open(self.folder / name, encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    def read_spec(self) -> dict[str, Any]:
        spec = self.read_json("spec.json")
        if spec is None:
            raise FileNotFoundError(self.folder / "spec.json")
        return spec

    def append_proc(self, record: dict[str, Any]) -> None:
        with open(self.folder / "procs.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()

    def read_procs(self, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Process records from byte `offset` on; returns them and the offset after the last full line."""
        try:
            with open(self.folder / "procs.jsonl", "rb") as fh:
                fh.seek(offset)
                data = fh.read()
        except OSError:
            return [], offset
        end = data.rfind(b"\n") + 1
        records = []
        for line in data[:end].splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records, offset + end

    def exit_record(self) -> dict[str, Any] | None:
        return self.read_json("exit.json")

    def shepherd_identity(self) -> tuple[int, float] | None:
        data = self.read_json("shepherd.json")
        if not data or data.get("create_time") is None:
            return None
        return int(data["pid"]), float(data["create_time"])
