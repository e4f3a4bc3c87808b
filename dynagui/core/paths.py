"""Where DynaGUI keeps its data: one folder, chosen once.

Order: an explicit `--data-dir`, then `DYNAGUI_DATA_DIR`, then the platform's user
data folder. Tests always pass a temporary folder, so a developer's real jobs are
never touched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_DATA_DIR = "DYNAGUI_DATA_DIR"


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "dynagui.db"

    @property
    def lock_file(self) -> Path:
        return self.root / "engine.lock"

    @property
    def runs(self) -> Path:
        """One folder per launch attempt: the shepherd's spec, identities and exit record."""
        return self.root / "runs"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def run_dir(self, uid: str) -> Path:
        return self.runs / uid

    def ensure(self) -> "DataDir":
        for folder in (self.root, self.runs, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> DataDir:
    if explicit:
        return DataDir(Path(explicit).expanduser().resolve())
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return DataDir(Path(env).expanduser().resolve())
    return DataDir(Path(platformdirs.user_data_dir("DynaGUI", appauthor=False)))
