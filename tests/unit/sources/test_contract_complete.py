"""The ``complete`` rule of a contract: no Gemeinde and no Kreis of the registers around a release's date is lost."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sources import contracts

CONTRACT = contracts._table("observations", {
    "columns": {"ags": "text", "level": "text", "reference_date": "date"},
    "levels": {"gemeinde": r"\d{8}", "kreis": r"\d{5}"}, "complete": True})
# two registers around 2022: Kreis 01001 (one Gemeinde), Kreis 01002 (two), Hamburg, the coastal waters of a Land
GEMEINDEN = ["01001000", "01002001", "01002002", "02000000", "13000999"]
REGISTERS = contracts.Registers.from_frame(pd.DataFrame({
    "ags": GEMEINDEN * 2, "vintage": ["2021"] * 5 + ["2023"] * 5,
    "territorial_date": [dt.date(2021, 12, 31)] * 5 + [dt.date(2023, 12, 31)] * 5,
    "kind": (["Stadt"] * 4 + ["gemeindefreies Gebiet (unbewohnt)"]) * 2}))


def problems(keys: list[str], level: str = "gemeinde") -> list[str]:
    frame = pd.DataFrame({"ags": keys, "level": level, "reference_date": dt.date(2022, 12, 31)})
    return [v.problem for v in contracts.check_table(CONTRACT, frame, REGISTERS, "2022")]


def test_every_gemeinde_present_passes_and_an_area_outside_every_kreis_is_not_required():
    assert problems(GEMEINDEN) == []
    assert problems(GEMEINDEN[:4]) == []  # 13000999 lies in no Kreis: a Gemeinde file need not list it


def test_a_gemeinde_lost_inside_a_covered_kreis_fails():
    [problem] = problems(["01001000", "01002001", "02000000"])
    assert problem.startswith("1 Gemeinden of the register around 2022-12-31 are missing, e.g. ['01002002']")
    assert "among them" not in problem


def test_a_whole_kreis_lost_fails_and_is_named():
    """A file cut between two Kreise used to pass: only the Kreise it covered were compared."""
    [problem] = problems(["01001000", "02000000"])
    assert "2 Gemeinden" in problem and "among them every Gemeinde of the Kreise ['01002']" in problem
    [problem] = problems(["01001000", "01002001", "01002002"])  # Hamburg is a Gemeinde like any other
    assert "['02000000']" in problem


def test_a_release_of_kreise_only_is_checked_for_its_kreise():
    assert problems(["01001", "01002", "02000"], level="kreis") == []
    [problem] = problems(["01001", "02000"], level="kreis")
    assert "1 Kreise of the register around 2022-12-31 are missing, e.g. ['01002']" in problem


def test_a_release_that_shares_no_kreis_with_the_registers_is_outside_their_scope():
    """As for ``known``: a file of Stuttgart beside registers of other Kreise (the snapshot's) is not checked."""
    assert problems(["08111000"]) == []


def test_both_ends_of_a_pendleratlas_flow_must_be_gemeinden_of_the_flow_year():
    """The sources.yaml contract: a destination key in no register (a typo, a shifted column) is no Gemeinde to
    name on a page; one outside every register's Kreise (a test file of another Land) is out of scope."""
    flows = contracts.load_contracts()["pendleratlas"]["gemeinde_flows"]

    def flow_problems(ags: str, partner: str) -> list[tuple[str, str]]:
        frame = pd.DataFrame({"ags": [ags], "direction": ["out"], "rank": [1], "partner_ags": [partner],
                              "commuters": [100], "distance_km": [40.0], "reference_date": [dt.date(2022, 6, 30)]})
        return [(v.column, v.problem) for v in contracts.check_table(flows, frame, REGISTERS, "2022")]

    assert flow_problems("01002001", "02000000") == []
    assert flow_problems("01002001", "08111000") == []  # outside the registers' Kreise
    assert flow_problems("01002001", "01002009") == [
        ("partner_ags", "Gemeinde 01002009 is in no Gemeindeverzeichnis around 2022-06-30 and not listed as out of "
                        "scope")]
    assert [column for column, _ in flow_problems("01002009", "02000000")] == ["ags"]
    # no partner: the key pattern says so once, the register check does not look up 'None'
    assert [column for column, _ in flow_problems("01002001", None)] == ["partner_ags"]
    frame = pd.DataFrame({"ags": ["01002001"], "reference_date": [dt.date(2022, 6, 30)]})
    assert "lacks the columns" in contracts.check_table(flows, frame, REGISTERS, "2022")[0].problem


def test_a_misspelt_rule_key_is_refused_naming_source_table_and_measure(tmp_path):
    """A rule key the contract does not know would check nothing (a typo in ``yoy_points`` or ``boundary_flows``):
    sources.yaml is refused where it says so."""
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  inkar:\n    contract:\n      observations:\n        measures:\n"
                    "          out_commuter_share: {min: 0, max: 100, boundary_flow: true}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"inkar contract observations measure 'out_commuter_share': unknown rule "
                                         r"key\(s\) boundary_flow; known: .*boundary_flows"):
        contracts.load_contracts(path)
    path.write_text(path.read_text(encoding="utf-8").replace("boundary_flow:", "boundary_flows:"), encoding="utf-8")
    rules = contracts.load_contracts(path)
    assert contracts.boundary_flows("inkar", "out_commuter_share", rules)
    assert not contracts.boundary_flows("inkar", "commuters_50km_share", rules)


def test_a_kreis_row_in_a_file_of_gemeinden_is_named():
    """One Kreis total appended to a Gemeinde file was refused as "4 Kreise missing", naming only Kreise that were
    never in the file (bad-input review of 5 December): the message names the Kreis row that is there."""
    frame = pd.DataFrame({"ags": GEMEINDEN[:4] + ["01002"], "level": ["gemeinde"] * 4 + ["kreis"],
                          "reference_date": dt.date(2022, 12, 31)})
    [violation] = contracts.check_table(CONTRACT, frame, REGISTERS, "2022")
    assert violation.problem.startswith("1 Kreise of the register around 2022-12-31 are missing, e.g. ['01001']: "
                                        "beside its Gemeinde rows the release has Kreis rows only for ['01002'] "
                                        "(1 Kreise): a Kreis row that does not belong in the file, or the others lost")
    assert (violation.row, violation.key) == (5, "01002")


# the latest register (2023) against its predecessor (2021) and the change lists: 01002002 is gone
REGISTER = contracts._table("register", {
    "columns": {"ags": "text", "level": "text", "territorial_date": "date"},
    "levels": {"gemeinde": r"\d{8}"}, "complete": True})
TWO_REGISTERS = pd.DataFrame({"ags": ["01001000", "01002001", "01002002", "01001000", "01002001"],
                              "vintage": ["2021"] * 3 + ["2023"] * 2, "level": "gemeinde",
                              "territorial_date": [dt.date(2021, 12, 31)] * 3 + [dt.date(2023, 12, 31)] * 2})


def latest_problems(dissolved: list[str], *years: int) -> list[str]:
    """The latest register checked with change lists of ``years`` (each complete for its year)."""
    changes = pd.DataFrame({"from_ags": dissolved, "kind": "dissolution"})
    coverage = pd.DataFrame({"period_start": [dt.date(y, 1, 1) for y in years],
                             "period_end": [dt.date(y, 12, 31) for y in years]})
    registers = contracts.Registers.from_frame(TWO_REGISTERS, changes, coverage)
    latest = TWO_REGISTERS[TWO_REGISTERS["vintage"] == "2023"].drop(columns="vintage")
    return [v.problem for v in contracts.check_table(REGISTER, latest, registers, "2023")]


def test_a_gemeinde_the_change_lists_dissolve_may_leave_the_latest_register():
    assert latest_problems(["01002002"], 2022, 2023) == []


def test_a_gemeinde_lost_from_the_latest_register_names_the_days_no_change_list_covers():
    """Without the list of 2022 a Gemeinde dissolved in 2022 cannot be told from a lost one: still refused, but
    the message says which list is missing (new_release.py, 6 December: the real 31.12.2023 register without the
    2024-Q4 one lost four Gemeinden the folder's lists of 2023-2025 do not name)."""
    [problem] = latest_problems([], 2023, 2024)
    assert "1 Gemeinden of the register around 2023-12-31 are missing, e.g. ['01002002']" in problem
    assert "no Gebietsänderungen list covers 01.01.2022–31.12.2022 since the register of 31.12.2021" in problem
    [problem] = latest_problems([], 2022, 2023)  # every day covered: the lists simply do not dissolve it
    assert "no Gebietsänderungen list" not in problem and problem.endswith("(a release may not lose Gemeinden)")
    [problem] = latest_problems([])
    assert "covers 01.01.2022–31.12.2023" in problem


def test_uncovered_days_between_overlapping_and_separate_change_lists():
    registers = contracts.Registers(covered=[(dt.date(2022, 1, 1), dt.date(2022, 6, 30)),
                                             (dt.date(2022, 3, 1), dt.date(2022, 12, 31)),
                                             (dt.date(2024, 1, 1), dt.date(2024, 12, 31))])
    assert registers.uncovered(dt.date(2021, 12, 1), dt.date(2025, 2, 28)) == [
        (dt.date(2021, 12, 1), dt.date(2021, 12, 31)), (dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
        (dt.date(2025, 1, 1), dt.date(2025, 2, 28))]
    assert registers.uncovered(dt.date(2022, 2, 1), dt.date(2022, 11, 30)) == []
