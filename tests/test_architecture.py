"""The Qt-free layers stay Qt-free; the simulator stays an outside program."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_import_linter_contracts_hold() -> None:
    r = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                        "sys.exit(lint_imports_command())"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Contracts: 3 kept, 0 broken" in r.stdout


def test_core_and_cli_load_without_qt() -> None:
    code = ("import sys, dynagui.cli, dynagui.core.engine, dynagui.simulator.run, dynagui.simulator.mpiexec; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'dynagui.gui'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
