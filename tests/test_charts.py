"""Server-rendered SVG charts: escaped labels, no inline style, sane scales."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from tocsin.charts import Series, horizontal_bars, stacked_bars

EVIL = '<script>alert(1)</script>" onload="x'


def test_stacked_bars_escape_labels_and_parse_as_svg() -> None:
    """Labels and series names are escaped, and the chart is well-formed SVG."""
    svg = stacked_bars(
        "Incidents & more",
        [EVIL, "w2"],
        [Series("sev1", [1, 0]), Series(EVIL, [2, 3])],
    )
    assert "<script>" not in svg
    assert "onload=" not in svg.replace("onload=&#34;", "")
    assert "style=" not in svg
    root = ElementTree.fromstring(str(svg))  # noqa: S314 (our own output)
    assert root.tag.endswith("svg")
    heights = [
        float(rect.get("height", "0"))
        for rect in root.iter("{http://www.w3.org/2000/svg}rect")
        if rect.get("class", "").startswith("chart-s") and rect.find("*") is not None
    ]
    # Three bars with values 1, 2 and 3: heights in proportion.
    assert len(heights) == 3
    assert abs(heights[1] / heights[0] - 2) < 0.01
    assert abs(heights[2] / heights[0] - 3) < 0.01


def test_horizontal_bars_scale_to_the_largest() -> None:
    """The largest item gets the longest bar; an empty chart says so."""
    svg = str(horizontal_bars("Noisy", [("a", 10), ("b", 5)]))
    widths = [
        float(w) for w in re.findall(r'class="chart-s0"[^>]*width="([\d.]+)"', svg)
    ]
    assert widths[0] == 2 * widths[1]
    assert "Nothing in this period" in str(horizontal_bars("Noisy", []))
