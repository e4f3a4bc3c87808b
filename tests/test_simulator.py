"""The simulator prints what LS-DYNA prints, and obeys d3kil like LS-DYNA does."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import real_file, wait_for, write_deck

from dynagui.core.output import parse_file, summary_to_dict

# The regexes of shared/lsdyna/FORMATS.md, verbatim: checked against real files there.
STAMP = r"\d\d/\d\d/\d\d\s+\d\d:\d\d:\d\d"
FORMATS = {
    "PROGRESS": r"^\s*(?P<cycle>\d+)\s+t\s+(?P<t>[-+]?\d\.\d+E[-+]\d+)\s+dt\s+(?P<dt>[-+]?\d\.\d+E[-+]\d+)"
                r"\s+(?P<event>\S.*?)\s+(?P<stamp>\d\d/\d\d/\d\d\s+\d\d:\d\d:\d\d)\s*$",
    "NORMAL": r"^\s*N o r m a l\s+t e r m i n a t i o n(?:\s+(?P<stamp>" + STAMP + r"))?\s*$",
    "ERROR": r"^\s*E r r o r\s+t e r m i n a t i o n(?:\s+(?P<stamp>" + STAMP + r"))?\s*$",
    "TERM_REACHED": r"^\s*\*\*\* termination time reached \*\*\*\s*$",
    "KILL_FILE": r"^\s*\*\*\* kill file detected - terminating \*+\s*$",
    "FORRTL": r"^forrtl: severe \((?P<code>\d+)\): (?P<msg>.*)$",
    "DIAG": r"^\s*\*\*\* (?P<sev>Warning|Error) (?P<code>\d+) \((?P<grp>[A-Z]+)\+(?P<sub>\d+)\)"
            r"(?:\s*\(processor #\s*(?P<proc>\d+)\))?\s*$",
    "LIC_OPTION": r"^\s*License option\s*:\s*(?P<opt>.*?)\s*$",
    "LIC_ERR": r"^\[license/error\]\s?(?P<msg>.*)$",
    "LIC_EXEC": r"^\s*Executing with (?P<kind>.+?) license\s*$",
    "STUDENT": r"^\s*Student license active; (?P<days>\d+) days remaning\.\s*$",
    "BANNER_KV": r"^\s*\|\s+(?P<key>Version|Revision|AnLicVer|Platform|OS Level|Compiler|Hostname|"
                 r"Precision|Licensed to|Issued by|SVN Version)\s*:\s?(?P<val>.*?)\s*\|\s*$",
    "BANNER_DATE": r"^\s*Date:\s+(?P<d>\d\d/\d\d/\d{4})\s+Time:\s+(?P<t>\d\d:\d\d:\d\d)\s*$",
    "MPP_PROCS": r"^\s*MPP execution with\s+(?P<n>\d+)\s+procs?\s*$",
    "CMDLINE": r"^\s*Command line options:\s*(?P<opt>\S.*?)\s*$",
    "INPUT": r"^\s*Input file:\s*(?P<path>\S.*?)\s*$",
    "MEM_CMD": r"^\s*Memory size from command line:\s*(?P<words>\d+)\s*$",
    "ETA": r"^\s*estimated (?P<what>total cpu time|cpu time to complete|total clock time|clock time to complete)"
           r"\s*=\s*(?P<sec>\d+) sec \(\s*(?P<h>\d+) hrs\s+(?P<m>\d+) mins\)\s*$",
    "ETA_ENDTIME": r"^\s*termination time\s+=\s*(?P<t>[-+]?\d\.\d+E[-+]\d+)\s*$",
    "PROBLEM_TIME": r"^\s*Problem time\s*=\s*(?P<t>[-+]?\d\.\d+E[-+]\d+)\s*$",
    "PROBLEM_CYCLE": r"^\s*Problem cycle\s*=\s*(?P<n>\d+)\s*$",
    "ELAPSED": r"^\s*Elapsed time\s*(?P<sec>\d+)\s+seconds?\s*(?:\(.*?\))?\s*for\s*(?P<cycles>\d+)\s+cycles"
               r"(?:\s+using\s+(?P<thr>\d+)\s+(?P<kind>SMP threads|MPP procs))?\s*$",
}
FORMATS_RE = {k: re.compile(v) for k, v in FORMATS.items()}


def run_sim(folder: Path, deck: Path, *extra: str, timeout: float = 60) -> tuple[int, Path]:
    out = folder / "stdout.txt"
    with open(out, "wb") as fh:
        rc = subprocess.run([sys.executable, "-m", "dynagui.simulator", f"i={deck}", "ncpu=2", "memory=20m", *extra],
                            cwd=folder, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout).returncode
    return rc, out


def start_sim(folder: Path, deck: Path, cmd_prefix: list[str] | None = None) -> tuple[subprocess.Popen, Path]:
    out = folder / "stdout.txt"
    fh = open(out, "wb")  # noqa: SIM115 - the child owns it
    cmd = [*(cmd_prefix or []), sys.executable, "-m", "dynagui.simulator", f"i={deck}", "ncpu=1"]
    proc = subprocess.Popen(cmd, cwd=folder, stdout=fh, stderr=subprocess.STDOUT)
    fh.close()
    return proc, out


def kinds(text: str) -> set[str]:
    found = set()
    for line in text.splitlines():
        for name, rx in FORMATS_RE.items():
            if rx.match(line):
                found.add(name)
    return found


SCENARIOS = [
    ("wall=1", "normal", 0),
    ("wall=1 error_at=0", "error", 1),
    ("wall=1 error_at=0.5", "error", 1),
    ("wall=1 crash_at=0.5", "crashed", 3),
    ("wall=1 licence=fail", "crashed", 1),
    ("wall=1 dt_drop_at=0.3", "error", 1),
    ("wall=1 buffered=1", "normal", 0),
]


@pytest.mark.parametrize(("scenario", "verdict", "code"), SCENARIOS)
def test_each_scenario_parses_to_its_verdict(tmp_path: Path, scenario: str, verdict: str, code: int) -> None:
    deck = write_deck(tmp_path, scenario=scenario)
    rc, out = run_sim(tmp_path, deck)
    assert rc == code
    parser = parse_file(str(out), ended=True)
    d = summary_to_dict(parser)
    assert d["verdict"] == verdict
    if "licence=fail" in scenario:
        assert d["licence"] == "failed"
    if "crash_at" in scenario:
        assert d["crash"].startswith("forrtl: severe (157)")
        assert 0.004 < d["sim_time"] < 0.007
    if "dt_drop_at" in scenario:
        assert d["dt_collapse"] is not None and d["first_error"].startswith("negative volume")
    if verdict == "normal":
        assert d["cycle"] > 1000 and d["sim_time"] == pytest.approx(0.01, rel=1e-3)
        assert (tmp_path / "d3dump01").exists() and (tmp_path / "d3plot").exists()
        assert (tmp_path / "messag").exists() and (tmp_path / "status.out").exists() and (tmp_path / "d3hsp").exists()


def test_output_matches_the_real_line_formats(tmp_path: Path) -> None:
    deck = write_deck(tmp_path, scenario="wall=1")
    _rc, out = run_sim(tmp_path, deck)
    ours = kinds(out.read_text())
    real = kinds(real_file("Firehawk4427__PILLARS-LSDyna__Bolt_B_Explicit__lsrun.out.txt").read_text())
    assert real <= ours, f"line kinds of a real run the simulator never prints: {real - ours}"
    for line in out.read_text().splitlines():
        if " t " in line and " dt " in line:
            assert FORMATS_RE["PROGRESS"].match(line), line
            assert len(line) == 80, line  # the stamp is in the same columns as in real output
        if "t e r m i n a t i o n" in line:
            assert FORMATS_RE["NORMAL"].match(line), line


def test_error_and_crash_lines_have_the_real_format(tmp_path: Path) -> None:
    deck = write_deck(tmp_path, scenario="wall=1 error_at=0")
    _rc, out = run_sim(tmp_path, deck)
    assert {"DIAG", "ERROR"} <= kinds(out.read_text())
    deck = write_deck(tmp_path / "c", scenario="wall=1 crash_at=0.2")
    _rc, out = run_sim(tmp_path / "c", deck)
    assert "FORRTL" in kinds(out.read_text())


def test_mass_scaling_prints_added_mass(tmp_path: Path) -> None:
    deck = write_deck(tmp_path, scenario="wall=1", extra="*CONTROL_TIMESTEP\n       0.0       0.9         0       0.0  -5.0E-07\n")
    _rc, out = run_sim(tmp_path, deck)
    d = summary_to_dict(parse_file(str(out), ended=True))
    assert d["added_mass"] > 0 and d["mass_increase_pct"] > 0


def test_hang_keeps_the_process_alive_and_silent(tmp_path: Path) -> None:
    deck = write_deck(tmp_path, scenario="wall=1 hang_at=0.2")
    proc, out = start_sim(tmp_path, deck)
    try:
        wait_for(lambda: "write d3plot" in out.read_text(), what="first d3plot line")
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=2.5)
        assert summary_to_dict(parse_file(str(out)))["verdict"] == "running"
    finally:
        proc.kill()
        proc.wait()


def _lines(out: Path) -> list[str]:
    return out.read_text(errors="replace").splitlines()


SWITCH_EFFECTS = [
    ("sw2.", lambda ls, n: any("estimated clock time to complete" in x for x in ls[n:])),
    ("sw3.", lambda ls, n: any("write d3dump01 file" in x for x in ls[n:])),
    ("sw4.", lambda ls, n: any("write d3plot file" in x for x in ls[n:])),
    ("swa.", lambda ls, n: any("flush i/o buffers" in x for x in ls[n:])),
]


@pytest.mark.parametrize(("token", "effect"), SWITCH_EFFECTS, ids=[t for t, _ in SWITCH_EFFECTS])
def test_switches_that_let_the_run_go_on(tmp_path: Path, token: str, effect) -> None:
    deck = write_deck(tmp_path, scenario="wall=60", end_time=1.0)
    proc, out = start_sim(tmp_path, deck)
    try:
        wait_for(lambda: "write d3plot" in out.read_text(), what="first cycle")
        seen = len(_lines(out))
        (tmp_path / "d3kil").write_text(token + "\n")
        wait_for(lambda: not (tmp_path / "d3kil").exists(), timeout=3, what="d3kil read")
        wait_for(lambda: effect(_lines(out), seen), timeout=3, what=f"the effect of {token}")
        assert proc.poll() is None, "the run must go on"
    finally:
        proc.kill()
        proc.wait()


def test_sw1_dumps_and_ends_with_normal_termination(tmp_path: Path) -> None:
    deck = write_deck(tmp_path, scenario="wall=60", end_time=1.0)
    proc, out = start_sim(tmp_path, deck)
    wait_for(lambda: "write d3plot" in out.read_text(), what="first cycle")
    (tmp_path / "d3kil").write_text("sw1.\n")
    assert proc.wait(timeout=5) == 0
    d = summary_to_dict(parse_file(str(out), ended=True))
    assert d["verdict"] == "normal" and d["kill_file_detected"] and not d["termination_reached"]
    assert (tmp_path / "d3dump01").exists()


def test_endtime_switch_moves_the_end(tmp_path: Path) -> None:
    deck = write_deck(tmp_path, scenario="wall=60", end_time=1.0)
    proc, out = start_sim(tmp_path, deck)
    wait_for(lambda: "write d3plot" in out.read_text(), what="first cycle")
    (tmp_path / "d3kil").write_text("endtime=0.0005\n")
    assert proc.wait(timeout=10) == 0
    d = summary_to_dict(parse_file(str(out), ended=True))
    assert d["verdict"] == "normal" and d["end_time"] == pytest.approx(0.0005) and d["termination_reached"]


def test_ignore_d3kil_means_ignore(tmp_path: Path) -> None:
    deck = write_deck(tmp_path, scenario="wall=60 ignore_d3kil=1", end_time=1.0)
    proc, out = start_sim(tmp_path, deck)
    try:
        wait_for(lambda: "write d3plot" in out.read_text(), what="first cycle")
        (tmp_path / "d3kil").write_text("sw1.\n")
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=1.5)
        assert (tmp_path / "d3kil").exists()
    finally:
        proc.kill()
        proc.wait()


def _mpp_tree_sw1(tmp_path: Path, prefix: list[str]) -> Path:
    deck = write_deck(tmp_path, scenario="wall=60", end_time=1.0)
    proc, out = start_sim(tmp_path, deck, cmd_prefix=prefix)
    wait_for(lambda: "write d3plot" in out.read_text(), what="first cycle")
    assert "MPP execution with       2 procs" in out.read_text()
    (tmp_path / "d3kil").write_text("sw1.\n")
    assert proc.wait(timeout=10) == 0
    d = summary_to_dict(parse_file(str(out), ended=True))
    assert d["verdict"] == "normal" and d["kill_file_detected"] and d["parallel"] == "mpp" and d["mpp_procs"] == 2
    assert (tmp_path / "mes0000").exists() and (tmp_path / "mes0001").exists()
    return out


def test_fake_mpiexec_runs_ranks_and_honours_d3kil(tmp_path: Path) -> None:
    _mpp_tree_sw1(tmp_path, [sys.executable, "-m", "dynagui.simulator.mpiexec", "-np", "2"])


@pytest.mark.mpich
@pytest.mark.skipif(shutil.which("mpiexec.mpich") is None, reason="Debian's MPICH (mpiexec.mpich) is not installed")
def test_real_mpich_runs_the_simulator_ranks(tmp_path: Path) -> None:
    _mpp_tree_sw1(tmp_path, ["mpiexec.mpich", "-np", "2"])


def test_a_dying_rank_brings_the_mpp_job_down_with_mpi_text(tmp_path: Path) -> None:
    import psutil

    deck = write_deck(tmp_path, scenario="wall=60", end_time=1.0)
    proc, out = start_sim(tmp_path, deck, cmd_prefix=[sys.executable, "-m", "dynagui.simulator.mpiexec", "-np", "2"])
    wait_for(lambda: "write d3plot" in out.read_text(), what="first cycle")

    def rank1() -> psutil.Process | None:
        for p in psutil.Process(proc.pid).children(recursive=True):
            try:
                if p.environ().get("DYNAGUI_SIM_RANK") == "1":
                    return p
            except psutil.Error:
                continue
        return None

    wait_for(rank1, what="rank 1").kill()
    assert proc.wait(timeout=10) != 0
    d = summary_to_dict(parse_file(str(out), ended=True))
    assert d["verdict"] == "crashed" and "BAD TERMINATION" in d["crash"]
