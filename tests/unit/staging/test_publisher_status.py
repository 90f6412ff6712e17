"""When a publisher's own territorial status lies (staging.publisher_status.status_dates): INKAR names it in none of
its files; its Gemeinde keys, the registers and the BKG's WSK bracket it."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from staging import publisher_status

OLD, MID, NEW = "2013-12-31", "2019-12-31", "2021-12-31"


def _registers(**vintages: list[str]) -> pd.DataFrame:
    """Registers by year (``y2013=[...]``), each with its territorial date."""
    rows = [(f"{v[1:]}-12-31", a) for v, keys in vintages.items() for a in keys]
    frame = pd.DataFrame(rows, columns=["vintage", "ags"])
    return frame.assign(territorial_date=frame["vintage"].map(dt.date.fromisoformat))


def _steps(rows, before: str = OLD, after: str = NEW) -> pd.DataFrame:
    """Usable mergers (from_ags, to_ags) between two registers."""
    return pd.DataFrame([(before, after, a, b, "merger", "ok") for a, b in rows],
                        columns=["from_vintage", "to_vintage", "from_ags", "to_ags", "kind", "plausibility"])


def _wsk(**days: str) -> pd.DataFrame:
    return pd.DataFrame({"ags": [f"0000000{k[1:]}" for k in days],
                         "last_change_date": [dt.date.fromisoformat(d) for d in days.values()]})


# 2013 -> 2021: A (1) formed from 9 on 2019-01-01; B (2) took in C (3) on 2020-06-01; D (4) formed from 8 on
# 2020-01-01; E (5) took in 7 on 2021-01-01; F (6) took in 10 and changed again in 2022 (its WSK lies after the
# register). The publisher lists A, B, C, E, F: not D, nor 7, 8, 9 or 10.
REGISTERS = _registers(y2013=["00000002", "00000003", "00000007", "00000008", "00000009", "00000010"],
                       y2021=["00000001", "00000002", "00000004", "00000005", "00000006"])
STEPS = _steps([("00000009", "00000001"), ("00000003", "00000002"), ("00000008", "00000004"),
                ("00000007", "00000005"), ("00000010", "00000006")])
WSK = _wsk(k1="2019-01-01", k2="2020-06-01", k4="2020-01-01", k5="2021-01-01", k6="2022-03-01")
KEYS = {"00000001", "00000002", "00000003", "00000005", "00000006"}


def test_the_status_lies_between_the_changes_its_keys_show_and_those_they_do_not():
    """It shows A's forming (9 gone, 1 listed) and not B's taking in C (C still listed) nor D's forming (4 not
    listed): on or after 2019-01-01, before 2020-01-01. E's taking in 7 it shows too, but E's WSK lies after that
    bound (a WSK is a Gemeinde's last change), F's after the register's own date: neither counts."""
    row = publisher_status.status_dates(KEYS, REGISTERS, NEW, WSK, STEPS)
    assert row == {"register_vintage": NEW, "basis": "own_list", "keys_only_publisher": 1, "keys_only_register": 1,
                   "status_after": dt.date(2019, 1, 1), "status_before": dt.date(2020, 1, 1)}
    assert list(row) == publisher_status.STATUS_COLUMNS
    # D listed too: its forming is shown, and B's day is the earliest the keys do not show
    row = publisher_status.status_dates(KEYS | {"00000004"}, REGISTERS, NEW, WSK, STEPS)
    assert (row["status_after"], row["status_before"]) == (dt.date(2020, 1, 1), dt.date(2020, 6, 1))
    # and B's step rejected: nothing the keys do not show is left; E's day counts, F's (after 2021) still not
    rejected = STEPS.assign(plausibility=["ok", "too_far", "ok", "ok", "ok"])
    row = publisher_status.status_dates(KEYS | {"00000004"}, REGISTERS, NEW, WSK, rejected)
    assert (row["status_after"], row["status_before"]) == (dt.date(2021, 1, 1), None)


def test_a_register_on_the_status_day_is_the_closest_and_bounds_it_from_below():
    """With a register of 31.12.2019 between (the publisher's keys are its keys), the changes into it are all shown:
    on or after the latest, B's of 2020 (its WSK after that register's date) left out; nothing later tells."""
    registers = pd.concat([REGISTERS, _registers(y2019=["00000001", "00000002", "00000003", "00000008"])])
    steps = _steps([("00000009", "00000001"), ("00000007", "00000002")], OLD, MID)
    keys = {"00000001", "00000002", "00000003", "00000008"}
    row = publisher_status.status_dates(keys, registers, MID, WSK, steps)
    assert (row["keys_only_publisher"], row["keys_only_register"]) == (0, 0)
    assert (row["status_after"], row["status_before"]) == (dt.date(2019, 1, 1), None)


def test_without_the_publishers_list_or_the_wsk_nothing_is_bracketed():
    assert publisher_status.status_dates(set(), REGISTERS, NEW, WSK, STEPS) == {
        "register_vintage": NEW, "basis": "latest_register_before_release", "keys_only_publisher": None,
        "keys_only_register": None, "status_after": None, "status_before": None}
    row = publisher_status.status_dates(KEYS, REGISTERS, NEW, None, STEPS)
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
