"""Charts as server-rendered SVG, for pages under a strict Content Security
Policy: no script, no style attributes; colours come from classes the page's
stylesheet sets (`chart-s0` .. `chart-s3`, `chart-axis`, `chart-label`).

Every label is escaped; numbers are formatted here. Each chart carries a
<title> and <desc> so a screen reader has its gist, and the page shows the same
figures in a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 720
HEIGHT = 240
MARGIN_LEFT = 44
MARGIN_BOTTOM = 36
MARGIN_TOP = 12
SERIES_CLASSES = 4


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _ticks(top: float) -> list[float]:
    """Up to five round gridline values from 0 to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    step = 1.0
    while top / step > 5:
        for factor in (2, 2.5, 2):
            step *= factor
            if top / step <= 5:
                break
    count = int(top // step) + (0 if top % step == 0 else 1)
    return [step * i for i in range(count + 1)]


def stacked_bars(
    title: str, labels: Sequence[str], series: Sequence[Series], *, every: int = 1
) -> Markup:
    """Vertical bars, one per label, each stacked from the series in order.
    `every` labels only every n-th bar on the axis (a year has 53 weeks)."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))] or [0.0]
    ticks = _ticks(max(totals))
    top = ticks[-1]
    plot_w = WIDTH - MARGIN_LEFT - 8
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.7, 1.0)

    def y(value: float) -> float:
        return MARGIN_TOP + plot_h - plot_h * value / top

    parts = [_open(title, f"{len(labels)} bars; highest {_number(max(totals))}")]
    for tick in ticks:
        parts.append(
            f'<line class="chart-grid" x1="{MARGIN_LEFT}" x2="{WIDTH - 8}" '
            f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="chart-label" x="{MARGIN_LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{_number(tick)}</text>'
        )
    for i, label in enumerate(labels):
        x = MARGIN_LEFT + slot * i + (slot - bar) / 2
        base = 0.0
        for n, one in enumerate(series):
            value = one.values[i]
            if value > 0:
                parts.append(
                    f'<rect class="chart-s{n % SERIES_CLASSES}" x="{x:.1f}" '
                    f'y="{y(base + value):.1f}" width="{bar:.1f}" '
                    f'height="{y(base) - y(base + value):.1f}"><title>'
                    f"{escape(label)}: {_number(value)} {escape(one.name)}"
                    "</title></rect>"
                )
            base += value
        if i % every == 0:
            parts.append(
                f'<text class="chart-label" x="{x + bar / 2:.1f}" '
                f'y="{HEIGHT - MARGIN_BOTTOM + 16}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append(
        f'<line class="chart-axis" x1="{MARGIN_LEFT}" x2="{WIDTH - 8}" '
        f'y1="{y(0):.1f}" y2="{y(0):.1f}"/>'
    )
    parts.append(_legend(series))
    parts.append("</svg>")
    return _markup(parts)


def _legend(series: Sequence[Series]) -> str:
    items = []
    for n, one in enumerate(series):
        x = MARGIN_LEFT + n * 90
        items.append(
            f'<rect class="chart-s{n % SERIES_CLASSES}" x="{x}" '
            f'y="{HEIGHT - 14}" width="10" height="10"/>'
            f'<text class="chart-label" x="{x + 14}" y="{HEIGHT - 5}">'
            f"{escape(one.name)}</text>"
        )
    return "".join(items)


def horizontal_bars(title: str, items: Sequence[tuple[str, float]]) -> Markup:
    """One bar per item, longest first as given, its value at its end."""
    row = 24
    height = MARGIN_TOP + row * max(len(items), 1) + 8
    width_all = WIDTH * 2 // 3  # half a page wide: a smaller box, larger text
    label_w = 150
    plot_w = width_all - label_w - 50
    top = max((value for _, value in items), default=0.0) or 1.0
    parts = [_open(title, f"{len(items)} bars", height=height, width=width_all)]
    for i, (label, value) in enumerate(items):
        y = MARGIN_TOP + row * i
        width = plot_w * value / top
        shown = label if len(label) <= 22 else label[:21] + "…"
        parts.append(
            f'<text class="chart-label" x="{label_w - 8}" y="{y + 15}" '
            f'text-anchor="end">{escape(shown)}<title>{escape(label)}</title></text>'
            f'<rect class="chart-s0" x="{label_w}" y="{y + 3}" '
            f'width="{max(width, 1):.1f}" height="{row - 8}"/>'
            f'<text class="chart-label" x="{label_w + width + 6:.1f}" y="{y + 15}">'
            f"{_number(value)}</text>"
        )
    if not items:
        parts.append(
            f'<text class="chart-label" x="{MARGIN_LEFT}" y="{MARGIN_TOP + 14}">'
            "Nothing in this period</text>"
        )
    parts.append("</svg>")
    return _markup(parts)


def _open(
    title: str, description: str, *, height: int = HEIGHT, width: int = WIDTH
) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
    )


def _markup(parts: list[str]) -> Markup:
    # Safe by construction: every label went through escape() above and every
    # number was formatted here.
    return Markup("".join(parts))  # noqa: S704
