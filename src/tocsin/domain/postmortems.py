"""Postmortem rules: the sections, the review states, when a postmortem is due,
the kinds of action item, and the draft prefilled from an incident's record.

Pure functions over plain values; services/postmortems.py loads the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from tocsin.errors import Conflict, InvalidInput

# (key, heading), in the order a postmortem reads.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("timeline", "Timeline"),
    ("root_causes", "Root causes"),
    ("contributing_factors", "Contributing factors"),
    ("went_well", "What went well"),
    ("went_poorly", "What went poorly"),
    ("lessons", "Lessons"),
)
SECTION_KEYS = frozenset(key for key, _ in SECTIONS)
MAX_WHYS = 5

# The blameless default: prompts that ask about systems and conditions, not
# about who erred.
BLAMELESS: dict[str, str] = {
    "summary": "",
    "impact": "",
    "timeline": "",
    "root_causes": (
        "_Which conditions let this happen? Ask why until the answer is a "
        "system or a process, not a person._"
    ),
    "contributing_factors": (
        "_What made it more likely, larger or longer: load, a missing alert, "
        "unclear ownership?_"
    ),
    "went_well": "",
    "went_poorly": "",
    "lessons": "",
}


class PostmortemStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"


# Which states a postmortem may move to from each one. A published one goes
# back to draft only on purpose (a correction), and is reviewed again.
_MOVES = {
    PostmortemStatus.DRAFT: {PostmortemStatus.IN_REVIEW},
    PostmortemStatus.IN_REVIEW: {PostmortemStatus.DRAFT, PostmortemStatus.PUBLISHED},
    PostmortemStatus.PUBLISHED: {PostmortemStatus.DRAFT},
}


def check_move(current: str, wanted: PostmortemStatus) -> None:
    """Conflict unless a postmortem in `current` may move to `wanted`."""
    if wanted not in _MOVES[PostmortemStatus(current)]:
        raise Conflict(
            f"a postmortem {current.replace('_', ' ')} cannot become "
            f"{wanted.value.replace('_', ' ')}"
        )


# Days from the postmortem's start to its due date, by worst severity: the
# worse the incident, the sooner the organisation should learn from it.
DUE_DAYS = {"sev1": 5, "sev2": 7, "sev3": 14, "sev4": 30}


def worst_severity(severities: Sequence[str]) -> str:
    """sev1 is the worst; unknown values count as sev4."""
    known = [s for s in severities if s in DUE_DAYS]
    return min(known) if known else "sev4"


def due_at(severity: str, start: datetime) -> datetime:
    return start + timedelta(days=DUE_DAYS.get(severity, DUE_DAYS["sev4"]))


class ActionKind(StrEnum):
    PREVENT = "prevent"
    DETECT = "detect"
    MITIGATE = "mitigate"
    UPDATE_DOCUMENTATION = "update_documentation"


class ActionPriority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


PENDING = frozenset({ActionStatus.OPEN, ActionStatus.IN_PROGRESS})

E = TypeVar("E", bound=StrEnum)


def choice(kind: type[E], value: str, what: str) -> E:
    """`value` as a member of `kind`; InvalidInput naming the choices."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidInput(f"{what} is one of {choices}") from None


def tracker_url(value: str) -> str:
    """An external tracker link: absolute http or https with a host. Other
    schemes (javascript:, data:, file:) would run or read something when
    clicked, so they are refused rather than stored."""
    url = value.strip()
    if len(url) > 2000:
        raise InvalidInput("a tracker link is at most 2000 characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput("a tracker link must be an http or https URL with a host")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise InvalidInput("a tracker link cannot hold spaces or control characters")
    return url


# The prefilled draft -------------------------------------------------------


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    message: str
    pinned: bool


@dataclass(frozen=True)
class IncidentRecord:
    """What a postmortem draft is written from, for one incident."""

    number: int
    title: str
    severity: str
    description: str
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    customers_affected: int | None
    customers_estimated: bool
    business_impact: str
    impacts: tuple[str, ...]
    services: tuple[str, ...]
    participants: tuple[str, ...]
    timeline: tuple[TimelineLine, ...]


def duration(start: datetime, end: datetime | None) -> str:
    """`1h 05m`, `12m`, or `-` when there is no end (not yet reached)."""
    if end is None or end < start:
        return "-"
    minutes = int((end - start).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def _at(instant: datetime) -> str:
    return f"{instant:%Y-%m-%d %H:%M} UTC"


def prefill(
    records: Sequence[IncidentRecord], guidance: dict[str, str]
) -> dict[str, str]:
    """The draft's sections: facts from the incidents' record followed by the
    template's guidance, so nobody reconstructs the story by hand. Pinned
    timeline items come first, then the rest in time order."""
    sections = {key: guidance.get(key, "") for key, _ in SECTIONS}
    summary, impact, timeline = [], [], []
    for record in records:
        summary.append(
            f"**#{record.number} {record.title}** ({record.severity}); "
            f"services: {', '.join(record.services) or '-'}."
        )
        if record.description.strip():
            summary.append(record.description.strip())
        summary.append(
            "\n".join(
                [
                    f"- Started: {_at(record.created_at)}",
                    "- Time to acknowledge: "
                    + duration(record.created_at, record.acknowledged_at),
                    "- Time to resolve: "
                    + duration(record.created_at, record.resolved_at),
                    "- Participants: " + (", ".join(record.participants) or "-"),
                ]
            )
        )
        impact.extend(_impact(record))
        pinned = [line for line in record.timeline if line.pinned]
        rest = sorted(
            (line for line in record.timeline if not line.pinned), key=lambda x: x.at
        )
        if len(records) > 1:
            timeline.append(f"**#{record.number}**")
        if pinned:
            timeline.append(
                "Pinned:\n\n" + "\n".join(f"- {_at(p.at)}: {p.message}" for p in pinned)
            )
        if rest:
            timeline.append("\n".join(f"- {_at(r.at)}: {r.message}" for r in rest))

    for key, facts in (
        ("summary", summary),
        ("impact", impact),
        ("timeline", timeline),
    ):
        text = "\n\n".join(part for part in facts if part)
        if sections[key]:
            text = f"{text}\n\n{sections[key]}" if text else sections[key]
        sections[key] = text
    return sections


def _impact(record: IncidentRecord) -> list[str]:
    lines = []
    if record.customers_affected is not None:
        about = "about " if record.customers_estimated else ""
        lines.append(f"- Customers affected: {about}{record.customers_affected}")
    if record.impacts:
        lines.append(f"- Impact: {', '.join(record.impacts)}")
    if record.business_impact.strip():
        lines.append(f"- Business impact: {record.business_impact.strip()}")
    if not lines:
        return []
    return ["\n".join([f"#{record.number}:", *lines])]


def five_whys(answers: Sequence[str]) -> str:
    """The five-whys chain as a numbered markdown list, each answer the cause
    of the one before; the last is the root cause to act on."""
    kept = [a.strip() for a in answers if a.strip()]
    if not kept:
        return ""
    lines = [f"{i}. Why? {answer}" for i, answer in enumerate(kept, start=1)]
    return "**Five whys**\n\n" + "\n".join(lines)


def document(title: str, sections: dict[str, str], whys: Sequence[str]) -> str:
    """The whole postmortem as one markdown document, sections in order."""
    parts = [f"# {title}"]
    for key, heading in SECTIONS:
        body = sections.get(key, "").strip()
        if key == "root_causes":
            chain = five_whys(whys)
            body = f"{chain}\n\n{body}".strip() if chain else body
        parts.append(f"## {heading}\n\n{body or '_Nothing written yet._'}")
    return "\n\n".join(parts) + "\n"
