"""What the catalog's use cases share: limits, the records they return, input
checks and lookups."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.schemas import UserRef
from tocsin.store.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Integration,
    Service,
    Team,
    User,
)

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_STEPS = 20
MAX_TARGETS = 20
MAX_DELAY_MINUTES = 24 * 60
MAX_REPEAT = 9
MAX_ACK_TIMEOUT_MINUTES = 7 * 24 * 60

# Control characters have no place in a name: PostgreSQL cannot store NUL, a
# terminal acts on the others, and direction overrides make a name read as
# another. A description may run over lines and hold tabs.
_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_STEP = re.compile(r"\s*([0-9]+)\s*:(.*)", re.DOTALL)
STEP_SYNTAX = "DELAY_MINUTES:EMAIL[,EMAIL...]"
# Where a step names an EMAIL, it may name a schedule or a team instead.
TARGET_SYNTAX = "EMAIL, schedule:NAME or team:NAME"

# Policy names have no unique index; on PostgreSQL this transaction-scoped lock
# makes the check for a taken name and the insert one step (on SQLite writers
# are serialised already). The number only has to be Tocsin's own.
POLICY_NAMES_LOCK = 0x70C5_0001


@dataclass(frozen=True)
class TeamRead:
    id: int
    name: str
    members: int
    services: int


@dataclass(frozen=True)
class StepInput:
    """One escalation step as given: minutes to wait for an acknowledgement
    before the next step pages, and whom it pages: users by email, whoever is
    on call in schedules, and the responders of teams, all by name. In
    round-robin, each firing pages only the next of these targets in turn
    (users first, then schedules, then teams)."""

    delay_minutes: int
    emails: tuple[str, ...]
    schedules: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    round_robin: bool = False

    @property
    def target_count(self) -> int:
        return len(self.emails) + len(self.schedules) + len(self.teams)


@dataclass(frozen=True)
class StepRead:
    delay_minutes: int
    targets: tuple[UserRef, ...]
    schedules: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    round_robin: bool = False


@dataclass(frozen=True)
class PolicyRead:
    id: int
    name: str
    team: str | None
    repeat: int
    steps: tuple[StepRead, ...]
    services: tuple[str, ...]
    ack_timeout_minutes: int | None = None


@dataclass(frozen=True)
class IntegrationRead:
    """An integration without its key: only the key's first characters."""

    id: int
    name: str
    kind: str
    key_prefix: str
    disabled: bool


@dataclass(frozen=True)
class ServiceRead:
    id: int
    name: str
    description: str
    team: str | None
    policy: str | None
    auto_resolve: bool
    integrations: tuple[IntegrationRead, ...]


@dataclass(frozen=True)
class NewKey:
    """An integration and its key, which exists in clear only in this value."""

    service: str
    integration: IntegrationRead
    key: str


def checked_name(value: str, what: str) -> str:
    name = value.strip()
    if _CONTROL.search(name):
        raise InvalidInput(
            f"{article(what)} name cannot hold NUL or other control characters"
        )
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(
            f"{article(what)} name of 1 to {MAX_NAME} characters is required"
        )
    return name


def checked_description(value: str) -> str:
    description = value.strip()
    if _CONTROL_IN_TEXT.search(description):
        raise InvalidInput(
            "a description cannot hold NUL or control characters other than "
            "newlines and tabs"
        )
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"a description has at most {MAX_DESCRIPTION} characters")
    return description


def checked_email(value: str) -> str:
    return value.strip().lower()


def check_steps(
    steps: Sequence[StepInput], repeat: int, ack_timeout_minutes: int | None = None
) -> None:
    if ack_timeout_minutes is not None and not (
        1 <= ack_timeout_minutes <= MAX_ACK_TIMEOUT_MINUTES
    ):
        raise InvalidInput(
            f"the acknowledgement timeout is 1 to {MAX_ACK_TIMEOUT_MINUTES} minutes"
        )
    if not 1 <= len(steps) <= MAX_STEPS:
        raise InvalidInput(f"a policy has 1 to {MAX_STEPS} steps")
    if not 0 <= repeat <= MAX_REPEAT:
        raise InvalidInput(f"repeat must be between 0 and {MAX_REPEAT}")

    for number, step in enumerate(steps, start=1):
        if not 0 <= step.delay_minutes <= MAX_DELAY_MINUTES:
            raise InvalidInput(
                f"step {number}: the delay must be 0 to {MAX_DELAY_MINUTES} minutes"
            )
        if not 1 <= step.target_count <= MAX_TARGETS:
            kinds = (
                "users, schedules or teams" if step.schedules or step.teams else "users"
            )
            raise InvalidInput(f"step {number} pages 1 to {MAX_TARGETS} {kinds}")
        for names in (step.schedules, step.teams):
            if len(set(names)) != len(names):
                raise InvalidInput(f"step {number} names a target twice")
        emails = [checked_email(e) for e in step.emails]
        for email in emails:
            if _CONTROL.search(email) or not email or len(email) > 320:
                raise InvalidInput(f"step {number}: {email!r} is not an email address")
        repeated = sorted({e for e in emails if emails.count(e) > 1})
        if repeated:
            raise InvalidInput(f"step {number} names {repeated[0]} twice")


def active_users(session: Session, emails: Sequence[str]) -> dict[str, User]:
    """The users with these emails, by email. Raises NotFound for an unknown
    email and InvalidInput for a deactivated user."""
    wanted = sorted({checked_email(e) for e in emails})
    found = {
        user.email: user
        for user in session.scalars(select(User).where(User.email.in_(wanted)))
    }
    for email in wanted:
        user = found.get(email)
        if user is None:
            raise NotFound(f"no user with email {email}")
        if not user.active:
            raise InvalidInput(f"{email} is deactivated and cannot be paged")
    return found


def team_named(session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(f"no team named {name!r}")
    return team


def policies_query() -> Select[EscalationPolicy]:
    targets = selectinload(EscalationPolicy.steps).selectinload(EscalationStep.targets)
    return select(EscalationPolicy).options(
        targets.selectinload(EscalationTarget.user),
        targets.selectinload(EscalationTarget.schedule),
        targets.selectinload(EscalationTarget.team),
    )


def policy_named(session: Session, name: str) -> EscalationPolicy:
    found = session.scalars(
        policies_query().where(EscalationPolicy.name == name).limit(2)
    ).all()
    if not found:
        raise NotFound(f"no escalation policy named {name!r}")
    if len(found) > 1:
        raise Conflict(f"more than one escalation policy is named {name!r}")
    return found[0]


def service_named(session: Session, name: str, *, lock: bool = False) -> Service:
    query = select(Service).where(Service.name == name)
    service = session.scalar(query.with_for_update() if lock else query)
    if service is None:
        raise NotFound(f"no service named {name!r}")
    return service


def integration_named(session: Session, service: str, name: str) -> Integration:
    """The service's integration called `name`, locked for a change."""
    row = service_named(session, service)
    found = session.scalars(
        select(Integration)
        .where(Integration.service_id == row.id, Integration.name == name)
        .limit(2)
        .with_for_update()
    ).all()
    if not found:
        raise NotFound(f"service {service!r} has no integration {name!r}")
    if len(found) > 1:
        raise Conflict(f"service {service!r} has more than one integration {name!r}")
    return found[0]


def name_taken(what: str, name: str) -> Conflict:
    return Conflict(f"{article(what)} named {name!r} already exists")


def article(what: str) -> str:
    return f"an {what}" if what[0] in "aeiou" else f"a {what}"


def policy_read(session: Session, policy: EscalationPolicy) -> PolicyRead:
    team = session.get(Team, policy.team_id) if policy.team_id else None
    services = session.scalars(
        select(Service.name)
        .where(Service.escalation_policy_id == policy.id)
        .order_by(Service.name)
    ).all()
    return PolicyRead(
        id=policy.id,
        name=policy.name,
        team=team.name if team else None,
        repeat=policy.repeat,
        steps=tuple(
            StepRead(
                delay_minutes=step.delay_minutes,
                targets=tuple(
                    UserRef.model_validate(target.user)
                    for target in step.targets
                    if target.user is not None
                ),
                schedules=tuple(
                    target.schedule.name
                    for target in step.targets
                    if target.schedule is not None
                ),
                teams=tuple(target.team.name for target in step.targets if target.team),
                round_robin=step.round_robin,
            )
            for step in policy.steps
        ),
        services=tuple(services),
        ack_timeout_minutes=policy.ack_timeout_minutes,
    )


def service_read(session: Session, service_id: int) -> ServiceRead:
    service = session.scalars(
        select(Service)
        .where(Service.id == service_id)
        .options(
            selectinload(Service.team),
            selectinload(Service.escalation_policy),
            selectinload(Service.integrations),
        )
        .execution_options(populate_existing=True)
    ).one()
    return ServiceRead(
        id=service.id,
        name=service.name,
        description=service.description,
        team=service.team.name if service.team else None,
        policy=service.escalation_policy.name if service.escalation_policy else None,
        auto_resolve=service.auto_resolve,
        integrations=tuple(
            integration_read(i)
            for i in sorted(service.integrations, key=lambda i: i.id)
        ),
    )


def integration_read(integration: Integration) -> IntegrationRead:
    return IntegrationRead(
        id=integration.id,
        name=integration.name,
        kind=integration.kind,
        key_prefix=integration.key_prefix,
        disabled=integration.disabled,
    )
