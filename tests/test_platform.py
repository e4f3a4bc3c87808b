"""Windows code paths, tested through their logic with the Windows API mocked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dynagui.core import solver as solver_mod
from dynagui.core import spawn
from dynagui.core.solver import SolverProfile, builtin_profiles


class FakePopen:
    calls: list[dict] = []
    refuse_breakaway = True

    def __init__(self, cmd, **kwargs) -> None:
        FakePopen.calls.append(kwargs)
        flags = kwargs.get("creationflags", 0)
        if FakePopen.refuse_breakaway and flags & spawn.CREATE_BREAKAWAY_FROM_JOB:
            err = OSError(13, "Access is denied")
            err.winerror = spawn.ERROR_ACCESS_DENIED
            raise err
        self.cmd = cmd
        self.pid = 4242


@pytest.fixture
def fake_popen(monkeypatch: pytest.MonkeyPatch):
    FakePopen.calls = []
    monkeypatch.setattr(spawn.subprocess, "Popen", FakePopen)
    return FakePopen


def test_windows_flags_detach_the_shepherd() -> None:
    kw = spawn.detach_kwargs(windows=True)
    flags = kw["creationflags"]
    assert flags & spawn.CREATE_BREAKAWAY_FROM_JOB and flags & spawn.CREATE_NEW_PROCESS_GROUP
    assert flags & spawn.CREATE_NO_WINDOW and "start_new_session" not in kw
    assert spawn.detach_kwargs(windows=False) == {"start_new_session": True}


def test_refused_breakaway_falls_back_inside_the_job(fake_popen, tmp_path: Path) -> None:
    fake_popen.refuse_breakaway = True
    p = spawn.start_shepherd(tmp_path, windows=True)
    assert p.pid == 4242
    first, second = fake_popen.calls
    assert first["creationflags"] & spawn.CREATE_BREAKAWAY_FROM_JOB
    assert not second["creationflags"] & spawn.CREATE_BREAKAWAY_FROM_JOB
    assert second["creationflags"] & spawn.CREATE_NO_WINDOW


def test_other_launch_errors_are_not_swallowed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def boom(*_a, **_k):
        raise FileNotFoundError(2, "python not found")

    monkeypatch.setattr(spawn.subprocess, "Popen", boom)
    with pytest.raises(FileNotFoundError):
        spawn.start_shepherd(tmp_path, windows=True)


def test_windows_executable_matching_is_exact_but_case_and_exe_blind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solver_mod, "_WINDOWS", True)
    prof = SolverProfile("r13", r"C:\Program Files\LS-DYNA\ls-dyna_smp_d_R13.1.1_winx64_ifort190.exe")
    assert prof.matches([r"c:\program files\ls-dyna\LS-DYNA_SMP_D_R13.1.1_WINX64_IFORT190.EXE", "i=a.k"])
    assert prof.matches(["ls-dyna_smp_d_R13.1.1_winx64_ifort190", "i=a.k"])
    assert not prof.matches([r"C:\tools\dynamo.exe"])
    assert not prof.matches([r"C:\LS-DYNA\ls-dyna_smp_d_R13.1.1_winx64_ifort190_old.exe"])


def test_commands_are_argument_lists_never_shell_strings() -> None:
    deck = "/runs/a b & c; d %PATH% $(rm -rf ~) ü.k"
    cmd = builtin_profiles()["simulator"].command(deck, 2, "20m")
    assert cmd[-3:] == [f"i={deck}", "ncpu=2", "memory=20m"]
    mpp = builtin_profiles()["simulator-mpp"].command(deck, 4, None)
    assert mpp[mpp.index("-np") + 1] == "4" and f"i={deck}" in mpp and "ncpu=4" not in mpp


def test_subprocess_is_the_real_one_outside_the_fixture() -> None:
    assert spawn.subprocess.Popen is subprocess.Popen
