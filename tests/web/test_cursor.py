"""The list's page cursor: it comes back as it went out, and a cursor that was
tampered with or made for another sort is refused, never half-read."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.errors import InvalidInput
from tocsin.services.incident_views import Cursor, Sort

# Hypothesis takes naive bounds and attaches the zone itself.
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(
    sort=st.sampled_from(list(Sort)),
    number=st.integers(min_value=0, max_value=2**31 - 1),
    severity=st.sampled_from(["sev1", "sev2", "sev3", "sev4"]),
    updated_at=instants,
)
def test_a_cursor_decodes_to_what_was_encoded(
    sort: Sort, number: int, severity: str, updated_at: datetime
) -> None:
    """Only the keys its sort needs travel, and they travel exactly."""
    cursor = Cursor(sort=sort, number=number, severity=severity, updated_at=updated_at)

    back = Cursor.decode(cursor.encode(), sort)

    assert back.number == number
    assert back.severity == (severity if sort is Sort.SEVERITY else "")
    assert back.updated_at == (updated_at if sort is Sort.UPDATED else None)


def test_a_cursor_for_another_sort_is_refused() -> None:
    """Switching the sort with an old cursor in the URL starts no odd page."""
    text = Cursor(sort=Sort.NEWEST, number=5).encode()

    with pytest.raises(InvalidInput, match="page link is broken"):
        Cursor.decode(text, Sort.OLDEST)


@given(st.text(max_size=60))
def test_any_other_text_is_refused_cleanly(text: str) -> None:
    """Garbage is InvalidInput, never another exception."""
    with contextlib.suppress(InvalidInput):
        Cursor.decode(text, Sort.NEWEST)
