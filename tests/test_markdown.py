"""Markdown from people is rendered to HTML that cannot run script."""

from __future__ import annotations

import pytest

from tocsin.markdown import render


def test_common_markdown_renders() -> None:
    """Headings, emphasis, lists, code and links come out as HTML."""
    html = render("# Steps\n\n1. **Stop** `cron`\n2. See [docs](https://x.example)")

    assert "<h1>Steps</h1>" in html
    assert "<strong>Stop</strong>" in html
    assert "<code>cron</code>" in html
    assert 'href="https://x.example"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        '<a href="javascript:alert(1)">x</a>',
        "![x](https://x.example/a.png)",
    ],
)
def test_no_script_gets_through(source: str) -> None:
    """Raw HTML is text, and only http(s) and mailto links survive."""
    html = render(source)

    assert "<script" not in html
    assert "<img" not in html
    assert '<a href="javascript' not in html.lower()
    assert '<a href="data:' not in html
