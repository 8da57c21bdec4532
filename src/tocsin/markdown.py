"""Markdown written by people (runbooks, notes) turned into HTML safe to show.

Two guards, each enough on its own for the common case, together for the rest:
markdown-it-py runs with raw HTML off, so `<script>` in the source comes out as
text; nh3 (the Ammonia sanitiser) then keeps only the tags and attributes a
document needs and only http, https and mailto links, which drops
`javascript:` URLs that markdown's own link syntax can still produce.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

# CommonMark plus tables and strikethrough; "html": False makes raw HTML text.
_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
        "h5", "h6", "hr", "li", "ol", "p", "pre", "s", "strong", "table",
        "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def render(source: str) -> str:
    """Sanitised HTML for markdown `source`. Links open nothing on this origin's
    behalf: they carry rel="noopener noreferrer nofollow"."""
    html = _PARSER.render(source)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
