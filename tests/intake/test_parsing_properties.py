"""Properties of the format parsers, without a database: any body either
becomes events that the store can hold or is refused with InvalidInput."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.intake.payloads import (
    am_alert,
    am_group,
    generic_event,
    grafana_alert,
    grafana_group,
    pd_event,
)
from tocsin.domain.alerts import (
    MAX_DEDUP_KEY,
    MAX_SUMMARY,
    SEVERITY_TO_INCIDENT,
    AlertEvent,
)
from tocsin.errors import InvalidInput
from tocsin.intake import alertmanager, events_v2, generic, grafana
from tocsin.intake.common import load_object

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        ["firing", "resolved", "trigger", "resolve", "critical", "0001-01-01T00:00:00Z"]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def _events_v2(body: bytes) -> list[AlertEvent]:
    return [events_v2.parse(load_object(body))]


PARSERS: dict[str, Callable[[bytes], list[AlertEvent]]] = {
    "alertmanager": lambda body: alertmanager.parse(body)[0],
    "grafana": lambda body: grafana.parse(body)[0],
    "events_v2": _events_v2,
    "generic": lambda body: [generic.parse(body)],
}
VALID: dict[str, dict[str, Any]] = {
    "alertmanager": am_group(am_alert("web-1:9100"), am_alert("web-2:9100")),
    "grafana": grafana_group(grafana_alert("us-1")),
    "events_v2": pd_event("k" * 32),
    "generic": generic_event(),
}


def assert_storable(event: AlertEvent) -> None:
    """What the store needs from an event, so no accepted body can end in a 500."""
    assert 0 < len(event.dedup_key) <= MAX_DEDUP_KEY
    assert len(event.summary) <= MAX_SUMMARY
    assert event.severity in SEVERITY_TO_INCIDENT
    assert event.group_key is None or len(event.group_key) <= 2 * MAX_DEDUP_KEY
    for moment in (event.starts_at, event.ends_at):
        assert moment is None or (isinstance(moment, datetime) and moment.tzinfo)
    document = json.dumps([event.raw, event.labels, event.summary, event.details])
    assert "\\u0000" not in document
    document.encode("utf-8")


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document a value can be swapped in."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(PARSERS)), document=json_values)
def test_arbitrary_json_is_parsed_or_refused(kind: str, document: Any) -> None:
    try:
        events = PARSERS[kind](json.dumps(document).encode())
    except InvalidInput:
        return
    for event in events:
        assert_storable(event)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(sorted(PARSERS)))
def test_a_valid_payload_with_one_value_swapped_is_parsed_or_refused(
    data: st.DataObject, kind: str
) -> None:
    valid = VALID[kind]
    path = data.draw(st.sampled_from(paths(valid)))
    value = data.draw(json_values | st.text(min_size=250, max_size=1100))
    body = json.dumps(replaced(valid, path, value)).encode()

    try:
        events = PARSERS[kind](body)
    except InvalidInput:
        return
    for event in events:
        assert_storable(event)


@settings(max_examples=200)
@given(kind=st.sampled_from(sorted(PARSERS)), body=st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_with_invalid_input(kind: str, body: bytes) -> None:
    try:
        PARSERS[kind](body)
    except InvalidInput:
        return
    raise AssertionError("random bytes were accepted")
