"""What the status page administration pages share: reading their form fields,
the state and stage choices, time zones, and rendering with the section tabs.

Fields are read here only as far as a form needs (a number from text, an id
from a checkbox, a local time in a zone); every rule about the page itself is
the status page services' (tocsin.services.status_page and friends).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import Request
from fastapi.responses import Response

from tocsin.domain.access import holds
from tocsin.domain.status_page import IMPACTS, ComponentState, Stage
from tocsin.errors import InvalidInput
from tocsin.services.status_common import AUTO, MANAGE
from tocsin.services.status_reads import MAX_ID
from tocsin.web.auth import WebUser
from tocsin.web.templating import render

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
MAX_ZONE = 64


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


# The states a manager may set by hand, and `auto` to let incidents and
# maintenance decide again.
STATE_CHOICES = [
    Choice(AUTO, "Follow incidents and maintenance"),
    *(Choice(state.value, state.label) for state in ComponentState),
]
STATE_LABELS = {state.value: state.label for state in ComponentState}
IMPACT_CHOICES = [Choice(state.value, state.label) for state in IMPACTS]
STAGE_CHOICES = [Choice(stage.value, stage.value.capitalize()) for stage in Stage]

TABS = [
    ("components", "Components", "/status-admin"),
    ("incidents", "Incidents", "/status-admin/incidents"),
    ("maintenance", "Maintenance", "/status-admin/maintenance"),
    ("subscribers", "Subscribers", "/status-admin/subscribers"),
]


def can_manage(user: WebUser) -> bool:
    """Whether the page offers the forms; the services decide on each post."""
    return holds(user.actor, MANAGE)


def page(
    request: Request,
    user: WebUser,
    template: str,
    tab: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    """Render one of the administration pages, with its tabs; a refused form
    (status 4xx) shows its message beside the form it came from."""
    tabs = [t for t in TABS if t[0] != "subscribers" or can_manage(user)]
    full: dict[str, Any] = {
        "user": user,
        "tab": tab,
        "tabs": tabs,
        "manage": can_manage(user),
        "problem": None,
        "failed": None,
        "typed": {},
        "form_keys": set(),
        "state_labels": STATE_LABELS,
    }
    full.update(context)
    return render(request, template, full, status_code=status_code)


def sentence(text: str) -> str:
    """A service's message as a sentence for the page."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def whole_number(value: str, what: str, *, default: int | None = None) -> int:
    value = value.strip()
    if not value and default is not None:
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a whole number") from None


def optional_id(value: str, what: str) -> int | None:
    """An id from a select whose empty choice means none."""
    if not value.strip():
        return None
    return record_id(value, what)


def record_id(value: str, what: str) -> int:
    number = whole_number(value, what)
    if not 1 <= number <= MAX_ID:
        raise InvalidInput(f"no such {what}")
    return number


def parse_ids(values: list[str]) -> list[int]:
    """The ids of the components a form's checkboxes chose."""
    return [record_id(value, "component") for value in values]


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones() | {"UTC"}))


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zone_names())


def zone(name: str) -> ZoneInfo:
    """The time zone a form names; UTC when it names none."""
    name = name.strip() or "UTC"
    if len(name) > MAX_ZONE or name not in _known_zones():
        raise InvalidInput(f"{name[:MAX_ZONE]} is not a known time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{name[:MAX_ZONE]} is not a known time zone") from None


def local_instant(value: str, tz: ZoneInfo, what: str) -> datetime:
    """A datetime-local field's value, read in `tz`."""
    try:
        parsed = datetime.strptime(value.strip(), LOCAL_FORMAT)  # noqa: DTZ007
    except ValueError:
        raise InvalidInput(f"give the {what} as a date and a time") from None
    instant = parsed.replace(tzinfo=tz)
    try:
        read_back = instant.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    except OverflowError:  # the year 9999 in a zone west of UTC, say
        raise InvalidInput(f"the {what} is out of range") from None
    # A time the clocks skip (spring forward) would otherwise be quietly read
    # an hour off; say so instead.
    if read_back != parsed:
        raise InvalidInput(
            f"the {what}, {value.strip().replace('T', ' ')}, does not exist in "
            f"{tz.key}: the clocks skip it"
        )
    return instant


def kept_instant(typed: datetime, shown: datetime, tz: ZoneInfo) -> datetime | None:
    """None when the manager left a datetime-local field as the form showed
    `shown`, else what they typed. A field has no seconds and cannot tell the
    two 02:30s of an autumn night apart, so reading it back would move an
    unchanged window."""
    return None if local_value(typed, tz) == local_value(shown, tz) else typed


def local_value(instant: datetime, tz: ZoneInfo) -> str:
    """An instant as a datetime-local field's value in `tz`."""
    return instant.astimezone(tz).strftime(LOCAL_FORMAT)


def in_zone(instant: datetime, tz: ZoneInfo) -> str:
    """An instant as people read it in `tz`, naming the zone."""
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M ") + str(tz.key)


def utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)
