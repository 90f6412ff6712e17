"""Vintages are release ids ('2023-12-31', '2024-Q4', 'vg250-2025-01-01', '2021-mitte'), not dates: what orders
them in time where a step needs the newer of two releases. Plain Python and SQL text, no imports beyond re.
"""

from __future__ import annotations

import functools
import re

# Which geometry (or Kreis name) of an AGS is current, as an ORDER BY over municipality_geometries or kreise: the
# newest territorial status, and on the same date the detailed VG250 before the VG5000. Why not ``vintage``: the
# vintages are release ids ('vg250-2025-01-01' sorts before 'vg5000-2021-01-01' as text).
NEWEST_FIRST = "territorial_date DESC, vintage LIKE 'vg250%' DESC, vintage DESC"  # the last: one fixed choice

QUARTER = re.compile(r"(\d{4})-Q([1-4])")
QUARTER_ENDS = {"1": "03-31", "2": "06-30", "3": "09-30", "4": "12-31"}


@functools.lru_cache(maxsize=None)  # few distinct vintages, compared often (staging.crosswalk.key_vintage)
def in_time_order(vintage: str) -> str:
    """A register vintage as text that sorts in time order: a quarterly Gemeindeverzeichnis ('2025-Q2') becomes
    its quarter's last day ('2025-06-30'), dated vintages ('2023-12-31') stay, a revision suffix stays after.

    Why: as text '2025-Q2' sorts after '2025-12-31', which would turn a transition around."""
    match = QUARTER.match(vintage)
    return f"{match[1]}-{QUARTER_ENDS[match[2]]}{vintage[match.end():]}" if match else vintage


GEOMETRY_PRODUCT = re.compile(r"(vg250|vg5000)-")


def release_order(vintage: str) -> tuple[str, int, str]:
    """Sort key of any release id in time order (the newest last): the date it names in ``in_time_order``
    (a BKG release 'vg250-2025-01-01' by its date), on the same date the VG250 after the VG5000 (as
    ``NEWEST_FIRST`` prefers it), then the id itself, so that the order is one fixed order.

    Ids without a date keep their text order, which is their time order ('2018-1' < '2018-ende', '2023' <
    '2025-01-bis-02')."""
    product = GEOMETRY_PRODUCT.match(vintage)
    base = vintage[product.end():] if product else vintage
    return in_time_order(base), int(bool(product) and product[1] == "vg250"), vintage


def release_ranks(vintages) -> dict[str, int]:
    """Each distinct vintage's position in ``release_order`` (0 = oldest): a sort key for a column of vintages,
    computed once per distinct id rather than per row."""
    return {vintage: i for i, vintage in enumerate(sorted(set(vintages), key=release_order))}
