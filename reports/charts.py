"""Charts as inline SVG, written directly from the data (no plotting library).

Why no matplotlib: building axes and writing SVG through it took ~100 ms per page, 91 % of a
report page; the strings below take well under a millisecond. Every text that comes from the
data (town names, indicator labels) goes through ``escape``.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from reports.labels import de_number, de_signed, is_missing, years_de

# One colour per town on the comparison page (up to reports.build.MAX_COMPARE = 8): the Okabe–Ito palette,
# chosen to stay distinguishable with red-green colour blindness (tests/unit/reports/test_report_svg.py simulates it);
# yellow last, as it is the weakest on white and only needed for the eighth town.
PILOT_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
SCORE_COLOUR = "#1b6ca8"
GRID_COLOUR = "#dddddd"
PROVISIONAL_LABEL = "vorläufig/fortgeschrieben (hohl, gestrichelt)"
BREAK_LABEL = "andere Indikatoren (nicht verbunden)"


class Frame:
    """The plot area of a line chart: maps periods (x) and scores 0..100 (y) to SVG pixels."""

    def __init__(self, periods: list[int], left: float, top: float, width: float, height: float):
        self.left, self.top, self.width, self.height = left, top, width, height
        self.x0 = (min(periods) - 0.5) if periods else 0.0
        self.x1 = (max(periods) + 0.5) if periods else 1.0

    def x(self, period: float) -> float:
        return self.left + (period - self.x0) / (self.x1 - self.x0) * self.width

    def y(self, score: float) -> float:
        return self.top + (1 - score / 100) * self.height

    def axes(self, periods: list[int]) -> list[str]:
        """Horizontal grid every 20 points, y labels, period ticks and the y-axis title."""
        parts = []
        bottom, right = self.top + self.height, self.left + self.width
        for value in range(0, 101, 20):
            y = self.y(value)
            parts.append(f'<line x1="{self.left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" '
                         f'stroke="{GRID_COLOUR}" stroke-width="0.8"/>')
            parts.append(f'<text x="{self.left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
        parts.append(f'<line x1="{self.left:.1f}" y1="{self.top:.1f}" x2="{self.left:.1f}" y2="{bottom:.1f}" '
                     'stroke="#333333"/>')
        parts.append(f'<line x1="{self.left:.1f}" y1="{bottom:.1f}" x2="{right:.1f}" y2="{bottom:.1f}" '
                     'stroke="#333333"/>')
        for period in periods:
            x = self.x(period)
            parts.append(f'<line x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" y2="{bottom + 4:.1f}" stroke="#333333"/>')
            parts.append(f'<text x="{x:.1f}" y="{bottom + 16:.1f}" text-anchor="middle">{period}</text>')
        middle = self.top + self.height / 2
        parts.append(f'<text x="12" y="{middle:.1f}" text-anchor="middle" '
                     f'transform="rotate(-90 12 {middle:.1f})">Indexwert (0–100)</text>')
        return parts


def _floats(series) -> list[float | None]:
    """Values as floats with None for missing (NaN, NA, None)."""
    return [None if pd.isna(v) else float(v) for v in series]


def _flags(history, column: str) -> list[bool]:
    """A boolean column as plain bools (absent column or NA: False)."""
    if column not in history:  # a frame's columns or a dict's keys
        return [False] * len(history["period"])
    return [bool(v) if not pd.isna(v) else False for v in history[column]]


def _runs(valid: list[bool], breaks: list[bool] | None = None) -> list[list[int]]:
    """Consecutive indices where ``valid`` is true (a missing value breaks a line or band, as in a plot); a true
    ``breaks[i]`` starts a new run at i (two years of different indicators are not joined)."""
    runs, current = [], []
    for i, ok in enumerate(valid):
        if ok and current and breaks and breaks[i]:
            runs.append(current)
            current = []
        if ok:
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


def _basis_breaks(history) -> list[bool]:
    """True at a period whose score rests on other indicators than the previous scored period's (``basis``: the set
    of indicators per period, None without a score; absent: no breaks)."""
    if "basis" not in history:
        return [False] * len(history["period"])
    breaks, previous = [], None
    for basis in history["basis"]:
        breaks.append(basis is not None and previous is not None and basis != previous)
        previous = basis if basis is not None else previous
    return breaks


def history_chart(history, prefix: str) -> str:
    """Score per period with its 5–95 % Monte Carlo band (``history``: a frame or a dict of column lists
    with period, score, score_p05, score_p95, optionally a boolean ``provisional``: carried-forward or
    provisional periods get hollow markers and dashed line segments)."""
    periods = [int(p) for p in history["period"]]
    score, low, high = (_floats(history[c]) for c in ("score", "score_p05", "score_p95"))
    provisional = _flags(history, "provisional")
    breaks = _basis_breaks(history)
    frame = Frame(periods, left=48, top=30, width=580, height=210)
    parts = frame.axes(sorted(set(periods)))
    parts += _band(frame, periods, low, high, breaks)
    parts += _error_bars(frame, periods, score, low, high)
    parts += _score_line(frame, periods, score, provisional, SCORE_COLOUR, breaks)
    shown_provisional = any(p and s is not None for p, s in zip(provisional, score))
    title = " ".join(filter(None, ["Indexverlauf", years_de([p for p, s in zip(periods, score) if s is not None]),
                                   "mit Unsicherheitsband"])) + (
        "; vorläufige oder fortgeschriebene Jahre hohl und gestrichelt" if shown_provisional else "") + (
        "; Jahre mit anderen Indikatoren nicht verbunden" if any(breaks) else "")
    legend = [("band", "Unsicherheitsband (5–95 %)"), ("line", "Indexwert")]
    if shown_provisional:
        legend.append(("provisional", PROVISIONAL_LABEL))
    parts += _legend_row(legend, x=frame.left + 6, y=14)
    if any(breaks):  # a row of its own below the years: beside the others it did not fit the width
        parts += _legend_row([("break", BREAK_LABEL)], x=frame.left + 6, y=274)
    return _svg(640, 280, title, parts, prefix, font_size=11)


def _band(frame: Frame, periods, low, high, breaks: list[bool] | None = None) -> list[str]:
    """The 5–95 % band as one polygon per run of periods that have both bounds (and the same indicators)."""
    parts = []
    for run in _runs([lo is not None and hi is not None for lo, hi in zip(low, high)], breaks):
        if len(run) < 2:
            continue  # a lone year has no neighbour to span a band with: its error bar shows the range
        upper = [f"{frame.x(periods[i]):.1f},{frame.y(high[i]):.1f}" for i in run]
        lower = [f"{frame.x(periods[i]):.1f},{frame.y(low[i]):.1f}" for i in reversed(run)]
        parts.append(f'<polygon points="{" ".join(upper + lower)}" fill="{SCORE_COLOUR}" fill-opacity="0.18"/>')
    return parts


def _error_bars(frame: Frame, periods, score, low, high) -> list[str]:
    parts = []
    for period, s, lo, hi in zip(periods, score, low, high):
        if s is None or lo is None or hi is None:
            continue
        x, y0, y1 = frame.x(period), frame.y(lo), frame.y(hi)
        parts.append(f'<path d="M{x:.1f} {y0:.1f}V{y1:.1f}M{x - 3:.1f} {y0:.1f}h6M{x - 3:.1f} {y1:.1f}h6" '
                     f'stroke="{SCORE_COLOUR}" stroke-opacity="0.5" fill="none"/>')
    return parts


def _score_line(frame: Frame, periods, score, provisional, colour: str, breaks: list[bool] | None = None) -> list[str]:
    """Line segments and markers; a segment touching a provisional period is dashed, its marker hollow; none
    where ``breaks`` says the indicators change."""
    parts = []
    for run in _runs([s is not None for s in score], breaks):
        for a, b in zip(run, run[1:]):
            dash = ' stroke-dasharray="5 4"' if provisional[a] or provisional[b] else ""
            parts.append(f'<line x1="{frame.x(periods[a]):.1f}" y1="{frame.y(score[a]):.1f}" '
                         f'x2="{frame.x(periods[b]):.1f}" y2="{frame.y(score[b]):.1f}" stroke="{colour}" '
                         f'stroke-width="1.8"{dash}/>')
    for period, s, hollow in zip(periods, score, provisional):
        if s is None:
            continue
        fill = "#ffffff" if hollow else colour
        parts.append(f'<circle cx="{frame.x(period):.1f}" cy="{frame.y(s):.1f}" r="4" fill="{fill}" '
                     f'stroke="{colour}" stroke-width="1.5"/>')
    return parts


def _legend_row(items: list[tuple[str, str]], x: float, y: float) -> list[str]:
    """Legend entries side by side (kind: band, line, provisional); width estimated from the text."""
    parts = []
    for kind, label in items:
        if kind == "band":
            parts.append(f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="16" height="9" fill="{SCORE_COLOUR}" '
                         'fill-opacity="0.18"/>')
        elif kind == "break":  # two markers not joined
            for cx in (x + 3, x + 13):
                parts.append(f'<circle cx="{cx:.1f}" cy="{y - 2:.1f}" r="3" fill="{SCORE_COLOUR}" '
                             f'stroke="{SCORE_COLOUR}" stroke-width="1.5"/>')
        else:
            dash, fill = (' stroke-dasharray="4 3"', "#ffffff") if kind == "provisional" else ("", SCORE_COLOUR)
            parts.append(f'<line x1="{x:.1f}" y1="{y - 2:.1f}" x2="{x + 16:.1f}" y2="{y - 2:.1f}" '
                         f'stroke="{SCORE_COLOUR}" stroke-width="1.8"{dash}/>')
            parts.append(f'<circle cx="{x + 8:.1f}" cy="{y - 2:.1f}" r="3.5" fill="{fill}" stroke="{SCORE_COLOUR}" '
                         'stroke-width="1.5"/>')
        parts.append(f'<text x="{x + 21:.1f}" y="{y + 2:.1f}">{escape(label)}</text>')
        x += 21 + text_width(label, 11) + 16
    return parts


def network_chart(series: dict[str, object], prefix: str) -> str:
    """Score history of several towns in one chart (``series``: town name -> frame with period, score)."""
    if len(series) > len(PILOT_COLOURS):  # a repeated colour would make two towns indistinguishable
        raise ValueError(f"network chart: {len(series)} towns, but only {len(PILOT_COLOURS)} distinguishable colours")
    periods = sorted({int(p) for frame in series.values() for p in frame["period"]})
    frame = Frame(periods, left=48, top=14, width=460, height=260)
    parts = frame.axes(periods)
    provisional = broken = False
    for i, (colour, (name, data)) in enumerate(zip(PILOT_COLOURS, series.items())):
        own, flags, breaks = [int(p) for p in data["period"]], _flags(data, "provisional"), _basis_breaks(data)
        parts += _score_line(frame, own, _floats(data["score"]), flags, colour, breaks)
        provisional |= any(flags)
        broken |= any(breaks)
        y = 24 + i * 20
        parts.append(f'<line x1="530" y1="{y}" x2="548" y2="{y}" stroke="{colour}" stroke-width="1.8"/>'
                     f'<circle cx="539" cy="{y}" r="3.5" fill="{colour}"/>'
                     f'<text x="554" y="{y + 4}">{escape(str(name))}</text>')
    notes = (["hohl, gestrichelt: vorläufig/fortgeschrieben"] if provisional else []) + (
        [f"Lücke: {BREAK_LABEL}"] if broken else [])
    for j, note in enumerate(notes):
        parts.append(f'<text x="530" y="{24 + len(series) * 20 + 6 + j * 14}" font-size="10">{note}</text>')
    scored = [int(p) for data in series.values() for p, s in zip(data["period"], _floats(data["score"])) if s is not None]
    title = " ".join(filter(None, ["Indexverlauf der Pilotstädte", years_de(scored)]))
    return _svg(720, 310, title, parts, prefix, font_size=11)


def text_width(text: str, size: float) -> float:
    """Rough width of ``text`` in pixels for a sans-serif font (to avoid overlapping labels)."""
    return 0.56 * size * len(text)


def bar_chart(rows: list[tuple[str, float | None]], title: str, scale: float = 100.0,
              missing_text: str = "nicht bewertet") -> str:
    """Horizontal bars for values on 0..``scale``; a missing value shows ``missing_text`` instead of a bar."""
    label_w, bar_w, row_h = 210, 300, 26
    parts = []
    for i, (label, value) in enumerate(rows):
        y = i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{bar_w}" height="16" fill="#eeeeee"/>')
        if is_missing(value):
            parts.append(f'<text x="{label_w + 6}" y="{y + 17}" fill="#666666">{escape(missing_text)}</text>')
        else:
            width = max(0.0, min(1.0, value / scale)) * bar_w
            parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{width:.1f}" height="16" fill="{SCORE_COLOUR}"/>')
            parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 17}">{de_number(value)}</text>')
    return _svg(label_w + bar_w + 60, len(rows) * row_h + 4, title, parts)


def diverging_chart(rows: list[tuple[str, float]], title: str) -> str:
    """Bars left (negative) and right (positive) of zero, e.g. score points contributed to a change."""
    label_w, half, row_h = 400, 150, 24
    extent = max([abs(v) for _, v in rows if not is_missing(v)] + [1.0])
    zero = label_w + half
    parts = [f'<line x1="{zero}" y1="0" x2="{zero}" y2="{len(rows) * row_h}" stroke="#555555"/>']
    for i, (label, value) in enumerate(rows):
        y = i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(_short(label))}</text>')
        if is_missing(value):
            continue
        width = abs(value) / extent * (half - 40)
        x = zero if value >= 0 else zero - width
        colour = "#2a9d8f" if value >= 0 else "#d1495b"
        parts.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="15" fill="{colour}"/>')
        tx, anchor = (zero + width + 4, "start") if value >= 0 else (zero - width - 4, "end")
        parts.append(f'<text x="{tx:.1f}" y="{y + 16}" text-anchor="{anchor}">{de_signed(value, 2)}</text>')
    return _svg(label_w + 2 * half, len(rows) * row_h + 4, title, parts)


def _short(label: str, limit: int = 58) -> str:
    """Labels longer than the label column are cut (the table below the chart has them in full)."""
    return label if len(label) <= limit else label[:limit - 1] + "…"


def _svg(width: int, height: int, title: str, parts: list[str], prefix: str | None = None,
         font_size: int = 12) -> str:
    """The <svg> element; ``prefix`` becomes its id (several SVGs share one page)."""
    ident = f' id="{escape(prefix)}"' if prefix else ""
    return (f'<svg{ident} role="img" aria-label="{escape(title)}" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" font-family="sans-serif" font-size="{font_size}">'
            f'{"".join(parts)}</svg>')
