"""Vintages are release ids ('2023-12-31', '2024-Q4', 'vg250-2025-01-01', '2021-mitte'), not dates: what orders
them in time where a step needs the newer of two releases, and the last day one can mean. Plain Python and SQL text.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re

# Which geometry (or Kreis name) of an AGS is current, as an ORDER BY over municipality_geometries or kreise: the
# newest territorial status, and on the same date the detailed VG250 before the VG5000. Why not ``vintage``: the
# vintages are release ids ('vg250-2025-01-01' sorts before 'vg5000-2021-01-01' as text).
NEWEST_FIRST = "territorial_date DESC, vintage LIKE 'vg250%' DESC, vintage DESC"  # the last: one fixed choice

QUARTER = re.compile(r"(\d{4})-Q([1-4])")
QUARTER_ENDS = {"1": "03-31", "2": "06-30", "3": "09-30", "4": "12-31"}
# half-year releases (Breitbandatlas, Mobilfunk-Monitoring): '2021-mitte' and '2021-1' of 30.06., '2021-ende' and
# '2021-2' of 31.12.; as text 'ende' sorts before 'mitte' (a revision suffix may follow)
HALF = re.compile(r"(\d{4})-(mitte|ende|1|2)(?=$|-rev)")
HALF_ENDS = {"mitte": "06-30", "1": "06-30", "ende": "12-31", "2": "12-31"}


@functools.lru_cache(maxsize=None)  # few distinct vintages, compared often (staging.crosswalk.key_vintage)
def in_time_order(vintage: str) -> str:
    """A vintage as text that sorts in time order: a quarterly Gemeindeverzeichnis ('2025-Q2') becomes its
    quarter's last day ('2025-06-30'), a half year ('2021-mitte', '2021-ende') its last day, dated vintages
    ('2023-12-31') stay, a revision suffix stays after.

    Why: as text '2025-Q2' sorts after '2025-12-31', which would turn a transition around, and '2021-ende'
    before '2021-mitte', which made the mid-year release the newer one."""
    match = QUARTER.match(vintage)
    if match:
        return f"{match[1]}-{QUARTER_ENDS[match[2]]}{vintage[match.end():]}"
    match = HALF.match(vintage)
    return f"{match[1]}-{HALF_ENDS[match[2]]}{vintage[match.end():]}" if match else vintage


GEOMETRY_PRODUCT = re.compile(r"(vg250|vg5000)-")


def release_order(vintage: str) -> tuple[str, int, str]:
    """Sort key of any release id in time order (the newest last): the date it names in ``in_time_order``
    (a BKG release 'vg250-2025-01-01' by its date), on the same date the VG250 after the VG5000 (as
    ``NEWEST_FIRST`` prefers it), then the id itself, so that the order is one fixed order.

    Ids without a date keep their text order, which is their time order ('2023' < '2025-01-bis-02')."""
    product = GEOMETRY_PRODUCT.match(vintage)
    base = vintage[product.end():] if product else vintage
    return in_time_order(base), int(bool(product) and product[1] == "vg250"), vintage


def release_ranks(vintages) -> dict[str, int]:
    """Each distinct vintage's position in ``release_order`` (0 = oldest): a sort key for a column of vintages,
    computed once per distinct id rather than per row."""
    return {vintage: i for i, vintage in enumerate(sorted(set(vintages), key=release_order))}


def last_day(vintage: str) -> dt.date | None:
    """The last day a release id can mean, the date its data are at most as new as: '2024-Q4' -> 31.12.2024,
    '2021-mitte' -> 30.06.2021, '2022-12' -> 31.12.2022, '2023' -> 31.12.2023, 'vg5000-2021-01-01' -> 01.01.2021,
    '2025-01-bis-02' -> 28.02.2025; None for an id without a year (or no real date, '2023-11-31')."""
    text = release_order(vintage)[0]  # the date it names, without a product prefix
    match = re.match(r"((?:19|20)\d{2})(?:-(\d{2})(?:-(\d{2}))?)?(?:-bis-(\d{2}))?", text)
    if not match:
        return None
    year, month = int(match[1]), int(match[4] or match[2] or 12)
    try:
        return dt.date(year, month, int(match[3]) if match[3] and not match[4] else calendar.monthrange(year, month)[1])
    except ValueError:
        return None


# --- publishing cycles: when a newer release is due ------------------------------------------------------------------

# The publishing cycles a source may declare (sources.yaml ``cycles``), in days; "irregular" (a town delivers when it
# has news) has no cycle and so no freshness policy. Typed: never read out of the prose ``cadence``.
CYCLES = {"irregular": None, "continuous": 0, "monthly": 31, "quarterly": 92, "half-yearly": 183, "annual": 365}
GRACE = dt.timedelta(days=31)  # the refresh runs monthly: one missed run is a warning, not yet a failure


def cycle_days(cycles: tuple[str, ...], longest: bool = False) -> int | None:
    """The shortest of a source's cycles in days ((annual, quarterly) → 92), or with ``longest`` the longest (→ 365:
    what a mode that fetches only the main releases, the annual Gemeindeverzeichnis, keeps up with); None for an
    irregular source."""
    days = [CYCLES[cycle] for cycle in cycles]
    if not days or None in days:
        return None
    return max(days) if longest else min(days)


def main_cycle(cycles: tuple[str, ...]) -> str:
    """The longest of a source's cycles, that of its main releases ('annual' of annual and quarterly updates)."""
    return max(cycles, key=lambda cycle: CYCLES[cycle] or 0)


def release_age_limit(cycles: tuple[str, ...]) -> int | None:
    """Days the newest release may lie in the past: two of the source's main publishing cycles (the one due and the
    one being prepared: publishers release months after their data's date) and a monthly refresh; None for an
    irregular source. The longest of its cycles: live mode fetches the annual Gemeindeverzeichnis and
    Gebietsänderungen lists, not their quarterly or monthly updates, which would warn most of every year."""
    cycle = cycle_days(cycles, longest=True)
    return None if cycle is None else 2 * cycle + GRACE.days


def newest_release(labels) -> tuple[dt.date, str] | None:
    """(the last day its data can be of, label) of the newest release among ``labels``; None without a dated one.
    By date first: '2025' (a whole year's list) is newer than '2025-01-bis-02', though it sorts before it as text."""
    dated = [(day, label) for label in labels if (day := last_day(label))]
    return max(dated, key=lambda pair: (pair[0], release_order(pair[1]))) if dated else None


def release_due(cycles: tuple[str, ...], labels, data_date: dt.date | None = None,
                lag_months: int | None = None) -> tuple[str, dt.date] | None:
    """(newest label, the day by which a newer release is due) of a source, or None (irregular, or no dated release).

    Without ``data_date`` (a source without observations, the BKG boundaries and the change lists):
    ``release_age_limit`` after the last day the newest release's id can mean, the rule of the raw assets'
    ``newest_release_age`` check, which knows only release ids. With it, the newest Stichtag of the source's data (the published warehouse): a
    cycle for the next data, the publisher's lag (``lag_months``, at least a cycle) and a month after that date. Why:
    an id can be newer than its data (the Gemeindeverzeichnis 2024-Q4 gives the population of 31.12.2023: due by
    30.01.2026, not 31.01.2027; dates review of 5 December), and INKAR publishes figures two years old (its 2022-12
    release, data of 2020, is due again by 31.01.2024, a year after it came out, not a month). A data date after the
    id's day counts as the id's day."""
    limit, newest = release_age_limit(cycles), newest_release(labels)
    if limit is None or newest is None:
        return None
    if data_date is None:
        return newest[1], newest[0] + dt.timedelta(days=limit)
    cycle = cycle_days(cycles, longest=True)
    lag = max(cycle, round((lag_months or 0) * 365.25 / 12))
    return newest[1], min(data_date, newest[0]) + dt.timedelta(days=cycle + lag) + GRACE
