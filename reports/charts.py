"""Charts as inline SVG: matplotlib (SVG backend, no pyplot state) for line charts and maps,
hand-built SVG for simple bars (much faster when rendering 10,000 pages)."""

from __future__ import annotations

import functools
import io
import re
from html import escape

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from reports.labels import de_number, de_signed, is_missing

STYLE = {
    "svg.fonttype": "none",        # text stays text: searchable, small, uses the page's font
    "svg.hashsalt": "town-report",  # deterministic ids, so unchanged data give identical pages
    "font.family": "sans-serif",
    "font.size": 9,
}
PILOT_COLOURS = ["#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182"]
SCORE_COLOUR = "#1b6ca8"


def styled(draw):
    """Run a chart function with the report style, leaving matplotlib's global settings alone."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return wrapper


def new_figure(width: float, height: float) -> Figure:
    """A figure bound to the SVG canvas (not pyplot: no global registry, nothing to close)."""
    fig = Figure(figsize=(width, height))
    FigureCanvasSVG(fig)
    return fig


def figure_svg(fig: Figure, prefix: str, title: str) -> str:
    """The figure as an inline <svg> element, with ids scoped by ``prefix`` (several SVGs share one page)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Inline SVG in HTML needs no namespace declarations; dropping them keeps every URL off the page.
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = _scope_ids(svg, prefix)
    return svg.replace("<svg", f'<svg role="img" aria-label="{escape(title)}" class="chart"', 1)


def _scope_ids(svg: str, prefix: str) -> str:
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    return re.sub(r"#([\w.-]+)", lambda m: f"#{prefix}-{m.group(1)}" if m.group(1) in ids else m.group(0), svg)


@styled
def history_chart(history, prefix: str) -> str:
    """Score per period with its 5–95 % Monte Carlo band (``history``: period, score, score_p05, score_p95)."""
    fig = new_figure(6.4, 2.8)
    ax = fig.add_axes((0.09, 0.16, 0.88, 0.78))
    periods = history["period"].astype(int).tolist()
    ax.fill_between(periods, history["score_p05"].astype(float), history["score_p95"].astype(float),
                    color=SCORE_COLOUR, alpha=0.18, linewidth=0, label="Unsicherheitsband (5–95 %)")
    score = history["score"].astype(float)
    # Error bars too: a scored year between unscored ones has no neighbour to span a band with.
    ax.errorbar(periods, score, yerr=[score - history["score_p05"].astype(float),
                                      history["score_p95"].astype(float) - score],
                fmt="none", ecolor=SCORE_COLOUR, alpha=0.5, capsize=3, linewidth=1)
    ax.plot(periods, score, color=SCORE_COLOUR, marker="o", label="Indexwert")
    _style_axes(ax, periods)
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    return figure_svg(fig, prefix, "Indexverlauf mit Unsicherheitsband")


@styled
def network_chart(series: dict[str, object], prefix: str) -> str:
    """Score history of several towns in one chart (``series``: town name -> frame with period, score)."""
    fig = new_figure(7.2, 3.2)
    ax = fig.add_axes((0.08, 0.14, 0.62, 0.8))
    periods = set()
    for colour, (name, frame) in zip(PILOT_COLOURS * 4, series.items()):
        ax.plot(frame["period"].astype(int), frame["score"].astype(float), marker="o", color=colour, label=name)
        periods.update(frame["period"].astype(int))
    _style_axes(ax, sorted(periods))
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False, fontsize=8)
    return figure_svg(fig, prefix, "Indexverlauf der Pilotstädte")


def _style_axes(ax, periods: list[int]) -> None:
    ax.set_ylim(0, 100)
    ax.set_ylabel("Indexwert (0–100)")
    if periods:
        ax.set_xticks(periods)
        ax.set_xlim(min(periods) - 0.5, max(periods) + 0.5)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)


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


def _svg(width: int, height: int, title: str, parts: list[str]) -> str:
    body = "".join(parts)
    return (f'<svg role="img" aria-label="{escape(title)}" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" font-size="12">{body}</svg>')
