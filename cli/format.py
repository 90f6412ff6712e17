"""German number formatting for the command line: decimal comma, dot between thousands, "–" when missing."""

from __future__ import annotations

import math
import numbers
import re

from rich.markup import escape

from reports import labels

# C0 and C1 control characters but the line break, and DEL: an escape sequence in a name could retitle or clear
# the terminal
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def printable(text) -> str:
    """Text from the warehouse for the terminal, without control characters (line breaks kept)."""
    return CONTROL.sub("", str(text))


def markup_text(text) -> str:
    """``printable`` text inside rich output: its square brackets are text, not markup ("[bold]" stays as typed)."""
    return escape(printable(text))


def is_missing(value) -> bool:
    """NULL, NaN, NaT and pandas' NA are missing values, never 0."""
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):  # pd.NA cannot be compared to a bool
        return True


def de_number(value, digits: int = 1) -> str:
    """A number as German readers write it: 1.234,5 (the reports' format and rounding); missing values (also
    pandas' NA and NaT, which the reports never pass) as an en dash. The minus stays the ASCII hyphen: terminal
    output is pasted into spreadsheets and redirected into files of any encoding, where U+2212 is no number."""
    return "–" if is_missing(value) else labels.de_number(float(value), digits).replace("\u2212", "-")


def de_score(value) -> str:
    """An overall score as the pages show it and the ranks compare it (one decimal, reports.labels.de_score)."""
    return "–" if is_missing(value) else labels.de_score(float(value))


def de_rank_band(low, high) -> str:
    """A 5–95 % rank band as the pages show it: '2–18', '439,9–801,1' (reports.labels.de_rank_band)."""
    return labels.de_rank_band(low, high) or "–"


def de_signed(value) -> str:
    """A gap as the pages show it: '+1,7', '-0,1', '0,0' (with the ASCII minus of ``de_number``)."""
    return "–" if is_missing(value) else labels.de_signed(value).replace("\u2212", "-")


def de_int(value) -> str:
    """A count with a dot between thousands: 10.802. A fractional value is refused, not cut to its whole part:
    a count that is not whole is a caller's error, and "2" for 2.7 would print a wrong number without a signal."""
    if is_missing(value):
        return "–"
    if not (isinstance(value, numbers.Integral) or float(value).is_integer()):  # ints above 2**53 too
        raise ValueError(f"de_int: {value!r} is no whole count (use de_number for a fraction)")
    return de_number(int(value), 0)
