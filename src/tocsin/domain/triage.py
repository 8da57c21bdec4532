"""Triage rules: severity levels, the impact x urgency priority matrix, stages,
and the label matchers of declaration triggers. Pure: no I/O.

Every scale is a list of levels ordered by rank, 1 the worst (SEV1, P1, high
impact). The defaults below are what a fresh database is seeded with; admins
change them through the triage service, which checks them with these rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import regex

from tocsin.errors import InvalidInput

MAX_KEY = 10
MAX_NAME = 50
MAX_DESCRIPTION = 1000
MAX_EXAMPLES = 2000
MAX_LEVELS = 20
MAX_REASON = 2000
_KEY = re.compile(r"[a-z][a-z0-9_-]*")


class Scale(StrEnum):
    SEVERITY = "severity"
    IMPACT = "impact"
    URGENCY = "urgency"
    PRIORITY = "priority"


class Stage(StrEnum):
    """Where a declared incident is, as stakeholders are told."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class ReportStatus(StrEnum):
    UNTRIAGED = "untriaged"
    DECLARED = "declared"
    DISMISSED = "dismissed"


class BusinessImpact(StrEnum):
    FINANCIAL = "financial"
    REPUTATIONAL = "reputational"
    LEGAL = "legal"


@dataclass(frozen=True)
class Level:
    """One rung of a scale: SEV2, or P1, or high urgency."""

    key: str
    name: str
    rank: int
    description: str = ""
    examples: str = ""


DEFAULT_SEVERITIES = (
    Level(
        "sev1",
        "SEV1",
        1,
        "Critical: the product or a core function is down for most customers, "
        "or data is being lost or exposed.",
        "Checkout fails for everyone; a database is corrupting writes; "
        "customer data is publicly reachable.",
    ),
    Level(
        "sev2",
        "SEV2",
        2,
        "Major: a core function is badly degraded or down for a large group of "
        "customers.",
        "Payments fail in one region; logins take over 30 seconds; "
        "an API returns errors for one in ten calls.",
    ),
    Level(
        "sev3",
        "SEV3",
        3,
        "Minor: a non-core function is impaired, or a workaround exists.",
        "Report exports are delayed; search misses recent items; "
        "one integration is failing.",
    ),
    Level(
        "sev4",
        "SEV4",
        4,
        "Low: little or no customer impact; cosmetic or internal only.",
        "A typo on a page; a dashboard is stale; a noisy but harmless alert.",
    ),
)

DEFAULT_IMPACTS = (
    Level("high", "High", 1, "Many customers or a whole service affected."),
    Level("medium", "Medium", 2, "Some customers or one function affected."),
    Level("low", "Low", 3, "Few customers or an internal function affected."),
)

DEFAULT_URGENCIES = (
    Level("high", "High", 1, "Getting worse, or costly by the minute."),
    Level("medium", "Medium", 2, "Harmful if left for hours."),
    Level("low", "Low", 3, "Can wait for working hours."),
)

DEFAULT_PRIORITIES = (
    Level("p1", "P1", 1, "Work on it now, all hands."),
    Level("p2", "P2", 2, "Work on it now."),
    Level("p3", "P3", 3, "Work on it today."),
    Level("p4", "P4", 4, "Work on it this week."),
    Level("p5", "P5", 5, "Work on it when there is time."),
)

# (impact, urgency) -> priority, the usual 3 x 3 service-desk grid.
DEFAULT_MATRIX: Mapping[tuple[str, str], str] = {
    ("high", "high"): "p1",
    ("high", "medium"): "p2",
    ("high", "low"): "p3",
    ("medium", "high"): "p2",
    ("medium", "medium"): "p3",
    ("medium", "low"): "p4",
    ("low", "high"): "p3",
    ("low", "medium"): "p4",
    ("low", "low"): "p5",
}

DEFAULT_SCALES: Mapping[Scale, tuple[Level, ...]] = {
    Scale.SEVERITY: DEFAULT_SEVERITIES,
    Scale.IMPACT: DEFAULT_IMPACTS,
    Scale.URGENCY: DEFAULT_URGENCIES,
    Scale.PRIORITY: DEFAULT_PRIORITIES,
}

# Alert severities (as intake normalises them), worst first.
ALERT_SEVERITIES = ("critical", "error", "warning", "info")


def check_key(value: str, what: str) -> str:
    """`value` if it can name a level or type: lower-case letters, digits, `-`
    and `_`, starting with a letter, at most MAX_KEY characters."""
    if not value or len(value) > MAX_KEY or not _KEY.fullmatch(value):
        raise InvalidInput(
            f"{what} {value!r} is not a valid key: use up to {MAX_KEY} lower-case "
            "letters, digits, '-' or '_', starting with a letter"
        )
    return value


def check_text(value: str, what: str, limit: int, *, required: bool = False) -> str:
    """`value` stripped; InvalidInput when too long, empty but required, or
    holding control characters other than newlines and tabs."""
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{what} is required")
    if len(value) > limit:
        raise InvalidInput(f"{what} is at most {limit} characters")
    if any(ord(c) < 0x20 and c not in "\n\t\r" for c in value) or "\x7f" in value:
        raise InvalidInput(f"{what} cannot contain control characters")
    return value


def check_levels(scale: Scale, levels: Sequence[Level]) -> tuple[Level, ...]:
    """The levels of one scale, sorted worst first, if they make a scale: at
    least one, unique keys and names, ranks 1..n with no gaps or repeats."""
    if not levels:
        raise InvalidInput(f"the {scale} scale needs at least one level")
    if len(levels) > MAX_LEVELS:
        raise InvalidInput(f"the {scale} scale has at most {MAX_LEVELS} levels")

    checked = []
    for level in levels:
        checked.append(
            Level(
                key=check_key(level.key, scale.value),
                name=check_text(
                    level.name, f"the name of {level.key}", MAX_NAME, required=True
                ),
                rank=level.rank,
                description=check_text(
                    level.description,
                    f"the description of {level.key}",
                    MAX_DESCRIPTION,
                ),
                examples=check_text(
                    level.examples, f"the examples of {level.key}", MAX_EXAMPLES
                ),
            )
        )
    _unique((level.key for level in checked), f"{scale} key")
    _unique((level.name.lower() for level in checked), f"{scale} name")
    ranks = sorted(level.rank for level in checked)
    if ranks != list(range(1, len(checked) + 1)):
        raise InvalidInput(
            f"the ranks of the {scale} scale must be 1 to {len(checked)}, each once "
            "(1 is the worst)"
        )

    return tuple(sorted(checked, key=lambda level: level.rank))


def _unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise InvalidInput(f"{what} {value!r} appears twice")
        seen.add(value)


def check_matrix(
    impacts: Sequence[Level],
    urgencies: Sequence[Level],
    priorities: Sequence[Level],
    cells: Mapping[tuple[str, str], str],
) -> dict[tuple[str, str], str]:
    """The matrix, if it gives every impact x urgency pair a known priority and
    never ranks a pair that is worse on both axes below a milder one.

    Raises InvalidInput naming the first pair that breaks a rule.
    """
    impact_rank = {level.key: level.rank for level in impacts}
    urgency_rank = {level.key: level.rank for level in urgencies}
    priority_rank = {level.key: level.rank for level in priorities}

    for impact, urgency in cells:
        if impact not in impact_rank:
            raise InvalidInput(f"the matrix names an unknown impact {impact!r}")
        if urgency not in urgency_rank:
            raise InvalidInput(f"the matrix names an unknown urgency {urgency!r}")
    for pair, priority in cells.items():
        if priority not in priority_rank:
            raise InvalidInput(
                f"the matrix gives {pair[0]} x {pair[1]} an unknown priority "
                f"{priority!r}"
            )
    for impact in impact_rank:
        for urgency in urgency_rank:
            if (impact, urgency) not in cells:
                raise InvalidInput(
                    f"the matrix has no priority for impact {impact} x urgency "
                    f"{urgency}"
                )

    for (i, u), p in cells.items():
        for (i2, u2), p2 in cells.items():
            worse_or_same = (
                impact_rank[i] <= impact_rank[i2]
                and urgency_rank[u] <= urgency_rank[u2]
            )
            if worse_or_same and priority_rank[p] > priority_rank[p2]:
                raise InvalidInput(
                    f"impact {i} x urgency {u} is at least as bad as impact {i2} x "
                    f"urgency {u2}, so its priority cannot be lower ({p} after {p2})"
                )

    return dict(cells)


def priority_of(
    matrix: Mapping[tuple[str, str], str], impact: str, urgency: str
) -> str:
    """The priority of `impact` x `urgency`; InvalidInput for unknown levels."""
    try:
        return matrix[(impact, urgency)]
    except KeyError:
        impacts = sorted({i for i, _ in matrix})
        urgencies = sorted({u for _, u in matrix})
        raise InvalidInput(
            f"no priority for impact {impact!r} x urgency {urgency!r}: impact is "
            f"one of {', '.join(impacts)}; urgency one of {', '.join(urgencies)}"
        ) from None


# --- declaration triggers -----------------------------------------------------

MATCH_OPERATORS = ("=", "!=", "=~", "!~")
MAX_MATCHERS = 20
MAX_LABEL = 200
MAX_PATTERN = 200
# Seconds one regex match may take; Python's own `re` cannot be stopped.
MATCH_TIMEOUT = 0.05
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(=~|!~|!=|=)(.*)$", re.S)


@dataclass(frozen=True)
class Matcher:
    """One label condition, as Alertmanager writes them: `env=prod`,
    `team!=web`, `instance=~db-.*` (regex, matching the whole value)."""

    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        """A missing label has the empty value, as in Prometheus."""
        actual = str(labels.get(self.name, ""))
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        try:
            found = (
                regex.fullmatch(self.value, actual, timeout=MATCH_TIMEOUT) is not None
            )
        except TimeoutError:
            # A pattern that backtracks for ever on this value must not stall
            # intake; it counts as no match either way, declaring nothing.
            return False
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """`name=value`, `name!=value`, `name=~regex` or `name!~regex`."""
    found = _MATCHER.match(text)
    if found is None:
        raise InvalidInput(
            f"matcher {text!r} is not NAME=VALUE, NAME!=VALUE, NAME=~REGEX or "
            "NAME!~REGEX"
        )
    return check_matcher(Matcher(found[1], found[2], found[3].strip()))


def check_matcher(matcher: Matcher) -> Matcher:
    if matcher.op not in MATCH_OPERATORS:
        raise InvalidInput(
            f"matcher operator {matcher.op!r} is not one of "
            f"{', '.join(MATCH_OPERATORS)}"
        )
    if not matcher.name or len(matcher.name) > MAX_LABEL:
        raise InvalidInput(f"a label name is 1 to {MAX_LABEL} characters")
    if len(matcher.value) > MAX_PATTERN:
        raise InvalidInput(f"a matcher value is at most {MAX_PATTERN} characters")
    if "\x00" in matcher.value or "\x00" in matcher.name:
        raise InvalidInput("a matcher cannot contain NUL characters")
    if matcher.op in ("=~", "!~"):
        try:
            re.compile(matcher.value)
            regex.compile(matcher.value)
        except (re.error, regex.error) as error:
            raise InvalidInput(
                f"matcher {matcher.name}{matcher.op}{matcher.value!r} is not a "
                f"valid regular expression: {error}"
            ) from None
    return matcher


def alert_severity_at_least(severity: str, minimum: str) -> bool:
    """Whether an alert of `severity` is as bad as `minimum` or worse."""
    order = {name: rank for rank, name in enumerate(ALERT_SEVERITIES)}
    return order.get(severity, len(order)) <= order[minimum]


@dataclass(frozen=True)
class TriggerRule:
    """A declaration trigger as the intake path sees it."""

    id: int
    name: str
    service_id: int | None
    matchers: tuple[Matcher, ...]
    min_alert_severity: str
    alert_count: int
    window_minutes: int
    severity: str
    incident_type_id: int | None

    def admits(self, service_id: int, severity: str, labels: Mapping[str, str]) -> bool:
        """Whether one alert counts towards this rule."""
        if self.service_id is not None and self.service_id != service_id:
            return False
        if not alert_severity_at_least(severity, self.min_alert_severity):
            return False
        return all(matcher.matches(labels) for matcher in self.matchers)
