"""Parser robustness: chunking, hostile bytes, and the column-free formats."""

from __future__ import annotations

import os
import tracemalloc

import pytest
from conftest import REAL, real_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynagui.core.output import DtCollapse, OutputParser, summary_to_dict

REAL_FILES = sorted(p.name for p in REAL.glob("*") if p.suffix not in (".md", ".bat")) if REAL.exists() else []


def _whole(data: bytes) -> dict:
    p = OutputParser()
    p.feed(data)
    p.finish()
    return summary_to_dict(p)


@pytest.mark.parametrize("name", REAL_FILES or ["(no shared fixtures)"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(min_value=1, max_value=4096), min_size=1, max_size=40))
def test_any_chunking_gives_the_same_summary(name: str, sizes: list[int]) -> None:
    data = real_file(name).read_bytes()
    expected = _whole(data)
    p = OutputParser()
    i = k = 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        k += 1
        p.feed(data[i : i + n])
        i += n
    p.finish()
    got = summary_to_dict(p)
    assert got == expected


def test_crlf_nul_and_bad_utf8_do_not_confuse_it() -> None:
    text = ("       1 t 0.0000E+00 dt 2.12E-04 flush i/o buffers            08/05/24 13:44:59\r\n"
            "\x00     236 t 4.9789E-02 dt 2.12E-04 write d3plot file            08/05/24 13:44:59\r\n").encode()
    data = text + b"\xff\xfe garbage \x80\n N o r m a l    t e r m i n a t i o n  08/05/24 13:45:17\r\n"
    d = _whole(data)
    assert d["cycle"] == 236 and d["verdict"] == "normal"


def test_a_50_mb_line_and_random_garbage_keep_memory_bounded() -> None:
    p = OutputParser()
    tracemalloc.start()
    try:
        chunk = b"x" * (1 << 20)
        for _ in range(50):
            p.feed(chunk)  # one 50 MB line, no newline yet
        p.feed(b"\n")
        rnd = os.urandom(1 << 20)
        for _ in range(8):
            p.feed(rnd)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 << 20, f"peak {peak / 1e6:.1f} MB"
    p.feed(b"\n     999 t 1.0000E+00 dt 1.00E-03 write d3plot file            08/05/24 13:44:59\n")
    assert p.summary.cycle == 999


def test_column_free_formats() -> None:
    lines = [
        "     |  Version : smp d R11.1.0   Date: 08/12/2019      |",
        "     |  Revision: 139588          Time: 09:16:48        |",
        " Executing with LSTC local workstation license",
        " termination time                  = 2.000E+01",
        "54773890 t 2.0000E+01 dt 3.65E-07 write d3plot file            10/10/24 23:47:47",
        "     beam  element 13456  failed at time  3.7917E+01",
        " BEGIN implicit statics  step      1 t= 1.0000E+00             08/13/20 09:03:07",
        " added mass          = 1.2000E-03",
        " percentage increase = 3.5000E-01",
        " Clock time per zone cycle=      630848.492 picoseconds",
        " Elapsed time   47971 seconds for54773890 cycles using  8 SMP threads",
        " N o r m a l    t e r m i n a t i o n",
    ]
    p = OutputParser()
    p.feed(("\n".join(lines) + "\n").encode())
    p.finish()
    s = p.summary
    assert (s.version, s.parallel, s.precision, s.licence) == ("R11.1.0", "smp", "double", "LSTC local workstation")
    assert s.cycle == 54773890 and s.sim_time == 20.0 and s.end_time == 20.0
    assert s.element_failures == 1 and s.implicit_steps == 1
    assert s.added_mass == pytest.approx(1.2e-3) and s.mass_increase_pct == pytest.approx(0.35)
    assert s.elapsed_s == 47971 and s.threads == 8
    assert s.verdict == "normal" and p.eta_seconds() == 0.0


def test_mpi_abort_is_a_crash() -> None:
    p = OutputParser()
    p.feed(b"=   BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES\n")
    assert p.summary.verdict == "crashed"
    assert "BAD TERMINATION" in summary_to_dict(p)["crash"]


def test_timestep_collapse_is_flagged_once() -> None:
    p = OutputParser()
    lines = [f"{c:8d} t {c * 1e-4:10.4E} dt {1e-4:8.2E} write d3plot file            08/05/24 13:44:{c % 60:02d}"
             for c in range(1, 200)]
    lines += [f"{c:8d} t {c * 1e-4:10.4E} dt {5e-6:8.2E} write d3plot file            08/05/24 13:45:{c % 60:02d}"
              for c in range(200, 260)]
    events = p.feed(("\n".join(lines) + "\n").encode())
    collapses = [e for e in events if isinstance(e, DtCollapse)]
    assert len(collapses) == 1
    assert collapses[0].cycle == 200 and collapses[0].median_dt == pytest.approx(1e-4)


def test_licence_failure_without_any_licence() -> None:
    p = OutputParser()
    p.feed(b"[license/error] No valid FLEXlm servers specified.\n")
    p.finish()
    assert p.summary.licence == "failed" and p.summary.verdict == "crashed"


def test_progress_lines_with_other_spacing_and_look_alikes() -> None:
    """Blanks between or after the stamp still make a progress line; a line that merely has
    the words t and dt does not."""
    lines = [
        "     100 t 1.0000E-03 dt 1.00E-05 flush i/o buffers            08/05/24 13:44:59   ",
        "     200 t 2.0000E-03 dt 1.00E-05 write d3plot file\t08/05/24    13:45:03",
        "     300 t 3.0000E-03 dt 1.00E-05 08/05/24 13:45:09",
        "     400 t 4.0000E-03 dt 1.00E-05 flush i/o buffers            13:45:11",
        "  sliding t dt interface 3 with penalty scale factor 0.1 at 08/05/24 13:45:11",
    ]
    p = OutputParser()
    events = p.feed(("\n".join(lines) + "\n").encode())
    cycles = [e.cycle for e in events if hasattr(e, "cycle") and hasattr(e, "dt")]
    assert 200 in cycles and p.summary.progress_lines == 3
    assert (p.summary.cycle, p.summary.sim_time) == (300, pytest.approx(3e-3))
    assert [e.event for e in events if getattr(e, "cycle", None) == 200] == ["write d3plot file"]
