"""One engine per data folder: a lock file naming its holder by process identity.

The file is created exclusively. A lock whose holder is gone (or whose PID now
belongs to another process: the create_time differs) is stale and is taken over,
so a crashed engine never blocks the next one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from dynagui.core import proctrack
from dynagui.core.jobs import Identity

log = logging.getLogger("dynagui.lock")


class EngineBusy(RuntimeError):
    """Another live engine owns the data folder."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("create_time", 0)))
        super().__init__(
            f"Another DynaGUI engine (PID {holder.get('pid')}, started {started}, {holder.get('kind', 'engine')}) "
            f"already owns {path.parent}. Use that one, stop it first, or choose another --data-dir.")
        self.holder = holder


def read_holder(path: Path) -> dict[str, Any] | None:
    """The lock's holder when it is alive, else None (no lock, or a stale one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ident = Identity(int(data["pid"]), float(data["create_time"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data if proctrack.is_alive(ident) else None


class EngineLock:
    def __init__(self, path: Path, kind: str = "engine") -> None:
        self.path = Path(path)
        self.kind = kind
        self.held = False

    def acquire(self) -> None:
        me = proctrack.identity_of(os.getpid())
        payload = json.dumps({"pid": os.getpid(), "create_time": me.create_time if me else 0.0,
                              "host": socket.gethostname(), "kind": self.kind}).encode()
        for _attempt in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = read_holder(self.path)
                if holder is not None:
                    if holder.get("pid") == os.getpid():
                        self.held = True
                        return
                    raise EngineBusy(self.path, holder) from None
                # Stale: move it aside under a unique name first, so that two engines
                # racing for a stale lock cannot both delete the winner's fresh file.
                aside = self.path.with_name(f"{self.path.name}.stale.{os.getpid()}")
                try:
                    os.replace(self.path, aside)
                    log.warning("took over a stale engine lock %s (%s)", self.path, aside.read_text(errors="replace"))
                    aside.unlink()
                except OSError:
                    pass
                continue
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
            self.held = True
            return
        holder = read_holder(self.path) or {}
        raise EngineBusy(self.path, holder)

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        holder = None
        try:
            holder = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if holder.get("pid") == os.getpid():
            try:
                self.path.unlink()
            except OSError:
                pass
