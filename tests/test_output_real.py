"""The parser reads every real LS-DYNA file the way a person reads it."""

from __future__ import annotations

import pytest
from conftest import real_file

from dynagui.core.output import parse_file, summary_to_dict

F = "Firehawk4427__PILLARS-LSDyna__"

# file, what a person reads in it
CASES = {
    F + "Bolt_B_Explicit__lsrun.out.txt": dict(
        verdict="normal", cycle=24944, sim_time=5.0001, end_time=5.0, version="R13", precision="double",
        parallel="smp", warnings=1, errors=0, licence="ANSYS", termination_reached=True, elapsed_s=18, threads=2),
    F + "Bolt_B_Explicit__messag": dict(
        verdict="normal", cycle=24944, sim_time=5.0001, end_time=None, version="R13", warnings=2, errors=0,
        licence=None),
    F + "test_airbag__airbag_closed_test__lsrun.out.txt": dict(
        verdict="normal", cycle=1302, sim_time=1.3918, end_time=40.0, kill_file_detected=True,
        termination_reached=False, warnings=1, elapsed_s=9),
    F + "test_airbag__airbag_closed_test__messag": dict(verdict="normal", cycle=1302, kill_file_detected=True),
    F + "test_airbag__lsrun.out.txt": dict(
        verdict="error", errors=2, warnings=52, version="R13", suppressed={"20282": 50}, cycle=0),
    F + "test_bolt_b_implicit__lsrun.out.txt": dict(verdict="error", errors=4, warnings=4, cycle=0),
    F + "test_bolt_b_implicit__d3hsp": dict(verdict="error", errors=4, version="R13"),
    F + "test_null__lsrun.out.txt": dict(
        verdict="crashed", cycle=915000, sim_time=39.053, end_time=40.0, warnings=53,
        crash="forrtl: severe (157): Program Exception - access violation"),
    F + "pillars_v2_airbag_open__keyfiles__100__30__lsrun.out.txt": dict(
        verdict="running", cycle=1250000, sim_time=0.45642, end_time=20.0, version="R14", dt=3.65e-7,
        warnings=53, suppressed={"20282": 50}, licence="ANSYS"),
    F + "pillars_v2_airbag_open__keyfiles__100__30__messag": dict(verdict="running", cycle=1250000, version="R14"),
    F + "PILLARS__PILLARS_v21_thru_v30__lsrun.out.txt__at-4cbf3e1c5d": dict(
        verdict="running", cycle=None, version="R13", licence="ANSYS"),
    F + "airbag__airbag_open__lsrun.out.txt__at-d3c442cbb5": dict(verdict="running", version="R13", licence=None),
    "ansys__pyansys-heart__issue-193__mpp-DEV-error-termination.excerpt": dict(
        verdict="error", parallel="mpp", mpp_procs=10, version="DEV", errors=2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_file_reads_as_a_person_reads_it(name: str) -> None:
    d = summary_to_dict(parse_file(str(real_file(name))))
    for key, expected in CASES[name].items():
        if isinstance(expected, float):
            assert d[key] == pytest.approx(expected), key
        else:
            assert d[key] == expected, key


def test_error_reasons_name_the_first_real_error() -> None:
    d = summary_to_dict(parse_file(str(real_file(F + "test_bolt_b_implicit__lsrun.out.txt"))))
    assert d["first_error"].startswith("line contains improperly formatted data")
    assert d["first_error"].endswith("(KEY+246)")
    parser = parse_file(str(real_file(F + "test_bolt_b_implicit__lsrun.out.txt")))
    texts = [diag.text for diag in parser.summary.diagnostics]
    assert "Load curve id 100 is undefined" in texts
    d = summary_to_dict(parse_file(str(real_file(F + "test_airbag__lsrun.out.txt"))))
    assert "(STR+975)" in d["first_error"]


def test_licence_errors_followed_by_a_licence_are_a_success() -> None:
    d = summary_to_dict(parse_file(str(real_file(F + "Bolt_B_Explicit__lsrun.out.txt")), ended=True))
    assert d["licence_errors"], "the real file has [license/error] lines"
    assert d["licence"] == "ANSYS"
    assert d["verdict"] == "normal"


def test_the_banner_printed_twice_is_one_termination() -> None:
    from dynagui.core.output import OutputParser, Termination

    data = real_file(F + "Bolt_B_Explicit__lsrun.out.txt").read_bytes()
    events = OutputParser().feed(data)
    assert [e.kind for e in events if isinstance(e, Termination)] == ["normal"]


def test_a_snapshot_that_ended_without_banner_is_a_crash_once_the_process_is_gone() -> None:
    name = F + "pillars_v2_airbag_open__keyfiles__100__30__lsrun.out.txt"
    assert summary_to_dict(parse_file(str(real_file(name))))["verdict"] == "running"
    assert summary_to_dict(parse_file(str(real_file(name)), ended=True))["verdict"] == "crashed"


def test_eta_blends_the_run_rate_and_ignores_the_crude_first_estimate() -> None:
    name = F + "pillars_v2_airbag_open__keyfiles__100__30__lsrun.out.txt"
    d = summary_to_dict(parse_file(str(real_file(name))))
    # the first-cycle block said 38 h 56 min; the run's own pace (0.4564 of 20 s in the
    # logged hours) says roughly 14 h are left
    assert 10 * 3600 < d["eta_s"] < 20 * 3600
    assert d["sim_rate"] > 0


def test_status_out_gives_the_first_cycle_estimates() -> None:
    parser = parse_file(str(real_file(F + "Bolt_B_Explicit__status.out")))
    assert parser.summary.eta_block["total_clock_time"] == 28
    assert parser.summary.eta_block["clock_time_to_complete"] == 27
