"""The template sandbox: values in, text out, nothing else reachable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.message_templates import MAX_OUTPUT, check, render
from tocsin.errors import InvalidInput

VALUES = {"incident": {"number": 7, "title": "Checkout down"}, "impact": "slow"}


def test_variables_filters_and_conditions_render() -> None:
    """Dict keys, allowed filters and if-blocks work as in any Jinja template."""
    out = render(
        "#{{ incident.number }} {{ incident.title|upper }}"
        "{% if impact %}: {{ impact|capitalize }}{% endif %}",
        VALUES,
        "body",
    )

    assert out == "#7 CHECKOUT DOWN: Slow"


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("{{ incident.__class__ }}", "unsafe"),
        ("{{ impact.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
        ("{{ incident.items() }}", "unsafe"),
        ("{{ incident['__class__'] }}", "unsafe"),
        ("{{ impact.format(1) }}", "unsafe"),
        ("{{ range(3) }}", "undefined"),
        ("{{ lipsum() }}", "undefined"),
        ("{{ config }}", "undefined"),
        ("{{ 9 ** 9 }}", "**"),
        ("{{ '%s' % impact }}", "%-formatting"),
        ("{{ impact * 100000 }}", "longer"),
        ("{{ impact|center(99999) }}", "No filter named 'center'"),
        ("{% include 'x' %}", "no include"),
        ("{% macro m() %}{% endmacro %}", "no macro"),
        ("{% for a in impact %}{% for b in impact %}{% endfor %}{% endfor %}", "loops"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ missing }}", "'missing' is undefined"),
        # Jinja's own objects print their repr, a heap address included.
        ("{{ self }}", "only text and numbers"),
        ("{% for i in impact %}{{ loop }}{% endfor %}", "only text and numbers"),
        ("{{ 'x' ~ self }}", "only text and numbers"),
        # A block is a macro by another name: called through self['a'](),
        # twelve blocks that each call the one below twice build 60 MB
        # before the output limit is checked.
        ("{% block a %}x{% endblock %}", "no block"),
    ],
)
def test_what_the_sandbox_refuses(source: str, says: str) -> None:
    """Internals, globals, size bombs and undefined names are InvalidInput."""
    with pytest.raises(InvalidInput, match=None) as caught:
        render(source, VALUES, "body")

    assert says in caught.value.detail


def test_output_past_the_limit_is_refused() -> None:
    """A loop cannot write more than MAX_OUTPUT characters."""
    values = {"rows": ["x" * 1000] * 100}

    with pytest.raises(InvalidInput, match="longer"):
        render("{% for r in rows %}{{ r }}{% endfor %}", values, "body")
    assert MAX_OUTPUT < 100 * 1000


def test_syntax_errors_name_the_line() -> None:
    """check() refuses a template that does not parse, with its line."""
    with pytest.raises(InvalidInput, match="subject, line 3"):
        check("a\nb\n{% if %}", "the subject")


@given(st.text(max_size=200))
def test_plain_values_come_out_as_written(value: str) -> None:
    """A variable's text is inserted verbatim, whatever it holds."""
    assert render("{{ v }}", {"v": value}, "body") == value


@pytest.mark.parametrize(
    ("source", "says"),
    [
        # Each of these ran for minutes or built hundreds of megabytes before
        # the output limit could see it.
        (
            "{% for n in [30] recursive %}{% if n %}{{ loop([n - 1, n - 1]) }}"
            "{% endif %}{% endfor %}",
            "recursive",
        ),
        ("{% set n = 10 %}{% set n = n * n %}{% set n = n * n %}", "no set"),
        ("{% with a = impact ~ impact %}{{ a }}{% endwith %}", "no with"),
        (
            "{% filter upper %}{% for c in 'x' * 20000 %}{{ 'y' * 20000 }}"
            "{% endfor %}{% endfilter %}",
            "no filter block",
        ),
        ("{{ (['x' * 20000] * 20000)|string|length }}", "only text and numbers"),
        ("{{ [impact] * 3 }}", "only text and numbers"),
        ("{{ ('x' * 20000) ~ ('x' * 20000) }}", "longer"),
        ("{{ ('x' * 20000) + ('x' * 20000) }}", "longer"),
        ("{{ " + " * ".join(["12345678901234567890"] * 20) + " }}", "too large"),
        (
            "{% for c in 'x' * 20000 %}{% if ('y' * 20000)|length == 0 %}"
            "{% endif %}{% endfor %}",
            "steps",
        ),
        ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deeply"),
        ("{{ impact|_joined }}", "no filter named"),
    ],
)
def test_what_would_exhaust_the_server_is_refused(source: str, says: str) -> None:
    """Exponential growth, unbounded loops and deep nesting are InvalidInput
    (never a hang, a MemoryError or a 500)."""
    with pytest.raises(InvalidInput) as caught:
        render(source, VALUES, "body")

    assert says in caught.value.detail


def test_bounded_joins_and_loops_still_work() -> None:
    """`~`, list literals in tests and loops over a dict's keys stay usable."""
    source = (
        "{{ 'Re: ' ~ incident.title ~ ' #' ~ incident.number }}"
        "{% if impact in ['slow', 'down'] %} ({{ impact }}){% endif %}"
        "{% for key in incident %} {{ key }}{% endfor %}"
    )

    assert render(source, VALUES, "body") == "Re: Checkout down #7 (slow) number title"
