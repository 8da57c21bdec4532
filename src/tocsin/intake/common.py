"""What every intake format shares: reading the body, bounds, keys and replies.

Bodies are decoded here, not by FastAPI, so that every way a sender can get a
payload wrong ends in one clear 400 problem before anything reaches a service:

- the body must be UTF-8 (a leading byte order mark is allowed) JSON whose
  top level is an object;
- `NaN`, `Infinity` and numbers too large for a float are refused, because
  PostgreSQL's JSONB cannot hold them;
- a NUL character anywhere (a value or a key, however deep) is refused, because
  PostgreSQL text cannot hold it; so is a lone UTF-16 surrogate, which cannot be
  encoded at all. Refusing rather than stripping keeps dedup keys exactly what
  the sender sent;
- nesting deeper than the decoder can follow is refused.

The BodyLimit middleware has already refused anything over 512 KB with a 413.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from tocsin.domain.alerts import MAX_DEDUP_KEY, MAX_SUMMARY
from tocsin.errors import InvalidInput, Unauthenticated
from tocsin.services.alerts import Outcome

# One request may carry at most this many alerts. Alertmanager sends a whole
# group at once; its `max_alerts` setting keeps a group under the bound.
MAX_ALERTS = 1000
MAX_LABELS = 128
MAX_LABEL_NAME = 256
MAX_LABEL_VALUE = 4096
MAX_TEXT = 65536
MAX_SOURCE = 255
MAX_INT_DIGITS = 100

# A JSON escape that decodes to NUL or to half of a surrogate pair. Checked on
# the raw bytes first, so the common payload skips the walk over every string.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")

# A key of spaces alone is almost surely a template that rendered empty.
Key = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_DEDUP_KEY, pattern=r"\S")
]
Summary = Annotated[str, StringConstraints(max_length=MAX_SUMMARY)]
Source = Annotated[str, StringConstraints(max_length=MAX_SOURCE)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
LabelName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_NAME)]
LabelValue = Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=MAX_LABELS)]
Annotations = Annotated[dict[LabelName, Text], Field(max_length=MAX_LABELS)]


def _timestamp(value: Any) -> datetime | None:
    """An ISO 8601 string as an aware UTC datetime; Go's zero time as None.

    Alertmanager and Grafana write `0001-01-01T00:00:00Z` for "no end". A time
    without an offset is taken as UTC. Converting to UTC here, not at storage,
    turns an instant outside the representable range into a 400, not a 500.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("timestamp", "must be an ISO 8601 timestamp string")

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "timestamp", "{value} is not an ISO 8601 timestamp", {"value": value[:40]}
        ) from None
    if parsed.year == 1:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)

    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "timestamp", "{value} is out of range", {"value": value[:40]}
        ) from None


def _details(value: Any) -> str | dict[str, Any]:
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise PydanticCustomError(
                "details", "must be at most {limit} characters", {"limit": MAX_TEXT}
            )
        return value
    if isinstance(value, dict):
        return value

    raise PydanticCustomError("details", "must be a string or an object")


Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]
# Free-form details: text, or an object of anything (kept as sent).
Details = Annotated[str | dict[str, Any], PlainValidator(_details)]


class SenderModel(BaseModel):
    """A payload written by someone else's software: strict types, unknown
    fields ignored (senders add fields between versions)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class OwnModel(BaseModel):
    """A payload in a shape Tocsin defines: unknown fields are mistakes."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def load_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object. Raises InvalidInput saying what is wrong."""
    if not body.strip():
        raise InvalidInput("the request body is empty; send a JSON object")

    # Decoded here rather than by json.loads, which would also take UTF-16 and
    # let UTF-8-encoded surrogates through unescaped.
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise InvalidInput("the request body is not UTF-8") from None

    try:
        document = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_short_int,
        )
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"the request body is not valid JSON: {error.msg} "
            f"at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise InvalidInput("the JSON document is nested too deeply") from None
    except ValueError as error:
        # Raised by the three number hooks above.
        raise InvalidInput(f"the request body is not usable JSON: {error}") from None

    if not isinstance(document, dict):
        kind = type(document).__name__
        raise InvalidInput(f"the request body must be a JSON object, not {kind}")
    if _SUSPECT_ESCAPE.search(body):
        _refuse_unstorable_text(document)

    return document


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _short_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise ValueError(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _refuse_unstorable_text(document: dict[str, Any]) -> None:
    for path, text in _strings(document, ""):
        if "\x00" in text:
            raise InvalidInput(f"{path}: NUL characters are not accepted")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(
                f"{path}: unpaired UTF-16 surrogates are not accepted"
            ) from None


def _strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in `node`, keys included, with a dotted path to it."""
    if isinstance(node, str):
        yield path or "body", node
    elif isinstance(node, dict):
        for key, value in node.items():
            inner = f"{path}.{_segment(key)}" if path else _segment(key)
            yield f"{inner} (the key)", key
            yield from _strings(value, inner)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}.{index}" if path else str(index))


def _segment(key: str) -> str:
    """A key as it can appear in an error message: escaped and short."""
    shown = key if key.isprintable() else repr(key)[1:-1]
    return shown[:64]


ModelT = TypeVar("ModelT", bound=BaseModel)


def validate(model: type[ModelT], document: dict[str, Any]) -> ModelT:
    """`document` as `model`, or InvalidInput listing each problem by location."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        problems = [
            {
                "location": ".".join(str(part) for part in item["loc"]) or "body",
                "message": item["msg"],
            }
            for item in error.errors(include_url=False, include_input=False)
        ]
        first = problems[0]
        raise InvalidInput(
            f"{first['location']}: {first['message']}", errors=problems
        ) from None


def bearer_key(authorization: str | None) -> str:
    """The key in an `Authorization: Bearer <key>` header. Raises Unauthenticated."""
    if authorization is None:
        raise Unauthenticated(
            "put the integration key in the URL or send 'Authorization: Bearer <key>'"
        )

    scheme, _, key = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <key>'")

    return key.strip()


def details_text(details: str | dict[str, Any] | None) -> str:
    """Free-form details as an incident description: an object becomes one
    `name: value` line per entry."""
    if details is None:
        return ""
    if isinstance(details, str):
        return details

    lines = [
        f"{name}: {value if isinstance(value, str) else json.dumps(value)}"
        for name, value in details.items()
    ]
    return "\n".join(lines)[:MAX_TEXT]


class OutcomeRead(BaseModel):
    """What happened to one alert of the request."""

    dedup_key: str
    result: str = Field(
        description="created, updated, duplicate, acknowledged, resolved or ignored"
    )
    incident_number: int | None = None


class IntakeReply(BaseModel):
    """The reply to an Alertmanager, Grafana or generic delivery."""

    outcomes: list[OutcomeRead]
    # Alerts the sender left out of this delivery (Alertmanager's max_alerts).
    truncated_alerts: int = 0


def reply(outcomes: list[Outcome], truncated_alerts: int = 0) -> IntakeReply:
    return IntakeReply(
        outcomes=[
            OutcomeRead.model_validate(
                {
                    "dedup_key": outcome.dedup_key,
                    "result": outcome.result,
                    "incident_number": outcome.incident_number,
                }
            )
            for outcome in outcomes
        ],
        truncated_alerts=truncated_alerts,
    )
