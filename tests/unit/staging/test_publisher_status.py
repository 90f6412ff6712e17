"""When a publisher's own territorial status lies (staging.publisher_status.status_dates): INKAR names it in none of
its files; its Gemeinde keys, the registers and the BKG's WSK bracket it."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from staging import publisher_status

OLD, NEW = "2013-12-31", "2021-12-31"


def _registers(old: list[str], new: list[str]) -> pd.DataFrame:
    return pd.DataFrame([(OLD, a) for a in old] + [(NEW, a) for a in new], columns=["vintage", "ags"])


def _steps(rows) -> pd.DataFrame:
    """Usable 2013 -> 2021 mergers (from_ags, to_ags)."""
    return pd.DataFrame([(OLD, NEW, a, b, "merger", "ok") for a, b in rows],
                        columns=["from_vintage", "to_vintage", "from_ags", "to_ags", "kind", "plausibility"])


def _wsk(**days: str) -> pd.DataFrame:
    return pd.DataFrame({"ags": [k.lstrip("k") for k in days], "last_change_date": [dt.date.fromisoformat(d)
                                                                                    for d in days.values()]})


def test_the_status_lies_between_the_changes_its_keys_show_and_those_they_do_not():
    """The publisher lists A (new since 2013, formed 2019-01-01) and C, which B took in on 2020-06-01 (B's WSK), and
    not D (formed 2020-01-01): its status lies on or after 2019-01-01 and before 2020-01-01. E, new since 2013 too,
    took in another Gemeinde after that status: its WSK (2021-01-01) is its last change, not its forming, and does
    not count."""
    registers = _registers(["00000002", "00000003", "00000009"], ["00000001", "00000002", "00000004", "00000005"])
    keys = {"00000001", "00000002", "00000003", "00000005"}
    wsk = _wsk(k00000001="2019-01-01", k00000002="2020-06-01", k00000004="2020-01-01", k00000005="2021-01-01")
    row = publisher_status.status_dates(keys, registers, NEW, wsk, _steps([("00000003", "00000002")]))
    assert row == {"register_vintage": NEW, "basis": "own_list", "keys_only_publisher": 1, "keys_only_register": 1,
                   "status_after": dt.date(2019, 1, 1), "status_before": dt.date(2020, 1, 1)}
    assert list(row) == publisher_status.STATUS_COLUMNS
    # without D, B's day is the earliest the keys do not show; a rejected step into B tells nothing
    fewer = _registers(["00000002", "00000003"], ["00000001", "00000002"])
    row = publisher_status.status_dates(keys - {"00000005"}, fewer, NEW, wsk, _steps([("00000003", "00000002")]))
    assert (row["status_after"], row["status_before"]) == (dt.date(2019, 1, 1), dt.date(2020, 6, 1))
    rejected = _steps([("00000003", "00000002")]).assign(plausibility="too_far")
    row = publisher_status.status_dates(keys - {"00000005"}, fewer, NEW, wsk, rejected)
    assert (row["status_after"], row["status_before"]) == (dt.date(2019, 1, 1), None)


def test_without_the_publishers_list_or_the_wsk_nothing_is_bracketed():
    registers = _registers(["00000002"], ["00000001", "00000002"])
    assert publisher_status.status_dates(set(), registers, NEW, _wsk(k00000001="2019-01-01"), _steps([])) == {
        "register_vintage": NEW, "basis": "latest_register_before_release", "keys_only_publisher": None,
        "keys_only_register": None, "status_after": None, "status_before": None}
    row = publisher_status.status_dates({"00000002"}, registers, NEW, None, pd.DataFrame())
    assert (row["basis"], row["keys_only_register"], row["status_after"], row["status_before"]) == (
        "own_list", 1, None, None)


def test_germany_wide_inkar_2022_12_is_on_the_territory_of_31_12_2019(full_data, germany_2013_2021):
    """INKAR 2022-12 with the registers of 2013 and 2021 and the VG5000 2021 WSK: the Gemeinden of 2021 that took in
    a Gemeinde INKAR still lists, or that INKAR does not list yet, changed on 01.01.2020 at the earliest (Kirner Land);
    the latest change INKAR's keys show is of 31.12.2019: its status, as the BBSR's documentation gives it."""
    from pathlib import Path

    from sources import inkar
    from sources.registry import discover_releases, load_sources

    [release] = discover_releases(load_sources()["inkar"], Path(full_data))
    listed = inkar.parse_release(release)["gemeinden"]
    register = germany_2013_2021.register
    closest = inkar.closest_register(register, listed, "2022-12")
    row = publisher_status.status_dates(set(listed["ags"]), register, closest,
                                        germany_2013_2021.geometries[["ags", "last_change_date"]],
                                        germany_2013_2021.steps)
    assert row == {"register_vintage": NEW, "basis": "own_list", "keys_only_publisher": 19, "keys_only_register": 9,
                   "status_after": dt.date(2019, 12, 31), "status_before": dt.date(2020, 1, 1)}
