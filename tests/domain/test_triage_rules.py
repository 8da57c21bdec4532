"""The pure triage rules: the matrix, scales and label matchers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain import triage as rules
from tocsin.domain.triage import (
    DEFAULT_IMPACTS,
    DEFAULT_MATRIX,
    DEFAULT_PRIORITIES,
    DEFAULT_URGENCIES,
    Matcher,
    TriggerRule,
)
from tocsin.errors import InvalidInput

_IMPACT = {level.key: level.rank for level in DEFAULT_IMPACTS}
_URGENCY = {level.key: level.rank for level in DEFAULT_URGENCIES}
_PRIORITY = {level.key: level.rank for level in DEFAULT_PRIORITIES}


def test_the_default_matrix_is_valid() -> None:
    """The seeded matrix passes its own checks."""
    rules.check_matrix(
        DEFAULT_IMPACTS, DEFAULT_URGENCIES, DEFAULT_PRIORITIES, DEFAULT_MATRIX
    )


@pytest.mark.parametrize("key", ["outage\n", "Sev1", "1st", "", "a" * 11, "sev 1"])
def test_a_key_is_refused_unless_it_is_all_key_characters(key: str) -> None:
    """Keys name levels and types in URLs and commands: a trailing newline
    is as wrong as any other stray character."""
    with pytest.raises(InvalidInput):
        rules.check_key(key, "incident type")
    assert rules.check_key("sev-1_b", "severity") == "sev-1_b"


@given(
    st.sampled_from(list(_IMPACT)),
    st.sampled_from(list(_URGENCY)),
    st.sampled_from(list(_IMPACT)),
    st.sampled_from(list(_URGENCY)),
)
def test_worse_on_both_axes_is_never_a_lower_priority(
    i1: str, u1: str, i2: str, u2: str
) -> None:
    """Under the default matrix, more impact and more urgency never yield a
    later priority."""
    if _IMPACT[i1] <= _IMPACT[i2] and _URGENCY[u1] <= _URGENCY[u2]:
        p1 = rules.priority_of(DEFAULT_MATRIX, i1, u1)
        p2 = rules.priority_of(DEFAULT_MATRIX, i2, u2)
        assert _PRIORITY[p1] <= _PRIORITY[p2]


@given(
    st.dictionaries(
        st.tuples(st.sampled_from(list(_IMPACT)), st.sampled_from(list(_URGENCY))),
        st.sampled_from(list(_PRIORITY)),
        min_size=9,
        max_size=9,
    )
)
def test_any_matrix_that_passes_is_monotonic(cells: dict[tuple[str, str], str]) -> None:
    """Whatever matrix the check accepts keeps worse pairs at earlier
    priorities; the rest are refused."""
    try:
        rules.check_matrix(
            DEFAULT_IMPACTS, DEFAULT_URGENCIES, DEFAULT_PRIORITIES, cells
        )
    except InvalidInput:
        return
    for (i1, u1), p1 in cells.items():
        for (i2, u2), p2 in cells.items():
            if _IMPACT[i1] <= _IMPACT[i2] and _URGENCY[u1] <= _URGENCY[u2]:
                assert _PRIORITY[p1] <= _PRIORITY[p2]


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("env=prod", {"env": "prod"}, True),
        ("env=prod", {"env": "production"}, False),
        ("env!=prod", {}, True),
        ("instance=~db-[0-9]+", {"instance": "db-12"}, True),
        ("instance=~db-[0-9]+", {"instance": "db-12.example"}, False),
        ("instance!~db-.*", {"instance": "web-1"}, True),
        ("team=", {}, True),
    ],
)
def test_matchers_follow_alertmanager_rules(
    text: str, labels: dict[str, str], expected: bool
) -> None:
    """Equality, inequality and whole-value regular expressions; a missing
    label is empty."""
    assert rules.parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["env", "=prod", "env=~(", "9env=x"])
def test_malformed_matchers_are_refused(text: str) -> None:
    """A matcher without a name or with a broken pattern is a 400."""
    with pytest.raises(InvalidInput):
        rules.parse_matcher(text)


def test_a_rule_admits_only_its_service_and_severity() -> None:
    """Service, lowest severity and matchers all have to agree."""
    rule = TriggerRule(
        id=1,
        name="r",
        service_id=7,
        matchers=(Matcher("env", "=", "prod"),),
        min_alert_severity="error",
        alert_count=1,
        window_minutes=5,
        severity="sev1",
        incident_type_id=None,
    )

    assert rule.admits(7, "critical", {"env": "prod"})
    assert not rule.admits(8, "critical", {"env": "prod"})
    assert not rule.admits(7, "warning", {"env": "prod"})
    assert not rule.admits(7, "error", {"env": "dev"})


def test_a_backtracking_regex_gives_up_instead_of_hanging_intake() -> None:
    """A trigger regex that backtracks for ever on a label value gives up
    and counts as no match, so intake is not stalled by it."""
    matcher = rules.parse_matcher("instance=~(a|aa)+")
    refusing = rules.parse_matcher("instance!~(a|aa)+")
    labels = {"instance": "a" * 64 + "!"}

    assert not matcher.matches(labels)
    assert not refusing.matches(labels)
    assert matcher.matches({"instance": "aaa"})
    assert not rules.parse_matcher("instance=~(a+)+$").matches(labels)
