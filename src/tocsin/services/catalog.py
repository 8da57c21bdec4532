"""Setting up what alerts arrive at and who they page: teams, escalation policies,
services and their integrations.

Every write checks its input before the database sees it, needs the admin role,
runs in one transaction with an audit record, and refuses a name already taken
with Conflict. Reads return plain records, never ORM objects, and check no
role: they show configuration, not incidents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.schemas import UserRef
from tocsin.services import integrations
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Integration,
    Service,
    Team,
    TeamMember,
    User,
)

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_STEPS = 20
MAX_TARGETS = 20
MAX_DELAY_MINUTES = 24 * 60
MAX_REPEAT = 9

# Control characters have no place in a name: PostgreSQL cannot store NUL, a
# terminal acts on the others, and direction overrides make a name read as
# another. A description may run over lines and hold tabs.
_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_STEP = re.compile(r"\s*([0-9]+)\s*:(.*)", re.DOTALL)
STEP_SYNTAX = "DELAY_MINUTES:EMAIL[,EMAIL...]"

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
    before the next step pages, and the emails of the users this step pages."""

    delay_minutes: int
    emails: tuple[str, ...]


@dataclass(frozen=True)
class StepRead:
    delay_minutes: int
    targets: tuple[UserRef, ...]


@dataclass(frozen=True)
class PolicyRead:
    id: int
    name: str
    team: str | None
    repeat: int
    steps: tuple[StepRead, ...]
    services: tuple[str, ...]


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


def parse_step(text: str) -> StepInput:
    """Read a step written as `DELAY_MINUTES:EMAIL[,EMAIL...]`, for example
    `5:ann@example.com,bob@example.com`. Raises InvalidInput on other syntax;
    the values themselves are checked by `create_policy`."""
    match = _STEP.fullmatch(text)
    emails = tuple(e.strip() for e in match.group(2).split(",")) if match else ()
    if match is None or not all(emails):
        raise InvalidInput(f"a step is {STEP_SYNTAX}, not {text!r}")

    digits = match.group(1).lstrip("0") or "0"
    # Anything this long is out of range; `create_policy` says so.
    delay = int(digits) if len(digits) <= 9 else MAX_DELAY_MINUTES + 1
    return StepInput(delay_minutes=delay, emails=emails)


def create_team(ctx: Context, actor: Actor, name: str) -> TeamRead:
    """Create a team. Raises Conflict when the name is taken."""
    require_role(actor, Role.ADMIN)
    name = _name(name, "team")

    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            if session.scalar(select(Team.id).where(Team.name == name)) is not None:
                raise _taken("team", name)
            team = Team(name=name, created_at=now)
            session.add(team)
            session.flush()
            audit(
                session,
                actor,
                at=now,
                action="team.create",
                object_type="team",
                object_id=team.id,
                name=name,
            )
            return TeamRead(id=team.id, name=name, members=0, services=0)
    except IntegrityError as error:
        raise _taken("team", name) from error


def list_teams(ctx: Context) -> list[TeamRead]:
    """Every team by name, with how many members and services it has."""
    members = (
        select(TeamMember.team_id, func.count().label("members"))
        .group_by(TeamMember.team_id)
        .subquery()
    )
    services = (
        select(Service.team_id, func.count().label("services"))
        .group_by(Service.team_id)
        .subquery()
    )
    query = (
        select(Team.id, Team.name, members.c.members, services.c.services)
        .outerjoin(members, members.c.team_id == Team.id)
        .outerjoin(services, services.c.team_id == Team.id)
        .order_by(Team.name)
    )
    with ctx.db.read() as session:
        rows = session.execute(query).all()

    return [
        TeamRead(id=id_, name=name, members=m or 0, services=s or 0)
        for id_, name, m, s in rows
    ]


def create_policy(
    ctx: Context,
    actor: Actor,
    name: str,
    *,
    team: str,
    steps: Sequence[StepInput],
    repeat: int = 0,
) -> PolicyRead:
    """Create an escalation policy owned by `team`.

    Step 1 pages as soon as an incident triggers; each step's delay is how long
    to wait for an acknowledgement before the next step pages; after the last
    step the whole policy runs `repeat` more times. Every email must belong to
    an active user. Raises InvalidInput, NotFound or Conflict (name taken).
    """
    require_role(actor, Role.ADMIN)
    name = _name(name, "policy")
    team = _name(team, "team")
    _check_steps(steps, repeat)

    now = ctx.clock.now()
    with ctx.db.write() as session:
        if not ctx.db.is_sqlite:
            session.execute(select(func.pg_advisory_xact_lock(POLICY_NAMES_LOCK)))
        taken = select(EscalationPolicy.id).where(EscalationPolicy.name == name)
        if session.scalar(taken) is not None:
            raise _taken("escalation policy", name)
        owner = _team(session, team)
        people = _active_users(session, [e for step in steps for e in step.emails])

        policy = EscalationPolicy(
            name=name, team_id=owner.id, repeat=repeat, created_at=now
        )
        policy.steps = [
            EscalationStep(
                position=position,
                delay_minutes=step.delay_minutes,
                targets=[
                    EscalationTarget(user_id=people[_email(e)].id) for e in step.emails
                ],
            )
            for position, step in enumerate(steps)
        ]
        session.add(policy)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="escalation_policy.create",
            object_type="escalation_policy",
            object_id=policy.id,
            name=name,
            team=team,
            repeat=repeat,
            steps=[
                {
                    "delay_minutes": s.delay_minutes,
                    "emails": [_email(e) for e in s.emails],
                }
                for s in steps
            ],
        )
        return _policy_read(session, policy)


def list_policies(ctx: Context) -> list[PolicyRead]:
    """Every escalation policy by name, with its steps and the services using it."""
    with ctx.db.read() as session:
        policies = session.scalars(
            _policies().order_by(EscalationPolicy.name, EscalationPolicy.id)
        ).all()
        return [_policy_read(session, policy) for policy in policies]


def get_policy(ctx: Context, name: str) -> PolicyRead:
    """One escalation policy by name. Raises NotFound."""
    name = _name(name, "policy")
    with ctx.db.read() as session:
        return _policy_read(session, _policy(session, name))


def create_service(
    ctx: Context,
    actor: Actor,
    name: str,
    *,
    team: str,
    policy: str | None = None,
    description: str = "",
    auto_resolve: bool = True,
) -> ServiceRead:
    """Create a service owned by `team`, paging through `policy` if given
    (without one, its incidents page nobody). Raises InvalidInput, NotFound or
    Conflict (name taken)."""
    require_role(actor, Role.ADMIN)
    name = _name(name, "service")
    team = _name(team, "team")
    policy = None if policy is None else _name(policy, "policy")
    description = _description(description)

    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            taken = select(Service.id).where(Service.name == name)
            if session.scalar(taken) is not None:
                raise _taken("service", name)
            owner = _team(session, team)
            pager = None if policy is None else _policy(session, policy)

            service = Service(
                name=name,
                description=description,
                team_id=owner.id,
                escalation_policy_id=pager.id if pager else None,
                auto_resolve=auto_resolve,
                created_at=now,
            )
            session.add(service)
            session.flush()
            audit(
                session,
                actor,
                at=now,
                action="service.create",
                object_type="service",
                object_id=service.id,
                name=name,
                team=team,
                policy=policy,
                auto_resolve=auto_resolve,
            )
            return _service_read(session, service.id)
    except IntegrityError as error:
        raise _taken("service", name) from error


def list_services(ctx: Context) -> list[ServiceRead]:
    """Every service by name, with its team, policy and integrations."""
    with ctx.db.read() as session:
        ids = session.scalars(select(Service.id).order_by(Service.name)).all()
        return [_service_read(session, id_) for id_ in ids]


def get_service(ctx: Context, name: str) -> ServiceRead:
    """One service by name. Raises NotFound."""
    name = _name(name, "service")
    with ctx.db.read() as session:
        return _service_read(session, _service(session, name).id)


def set_policy(ctx: Context, actor: Actor, service: str, policy: str) -> ServiceRead:
    """Make `policy` the one the service's new incidents page through. Open
    incidents keep the policy they started with. Raises NotFound."""
    require_role(actor, Role.ADMIN)
    service = _name(service, "service")
    policy = _name(policy, "policy")

    with ctx.db.write() as session:
        row = _service(session, service, lock=True)
        pager = _policy(session, policy)
        before = row.escalation_policy
        row.escalation_policy_id = pager.id
        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="service.set_policy",
            object_type="service",
            object_id=row.id,
            policy=policy,
            previous_policy=before.name if before else None,
        )
        session.flush()
        return _service_read(session, row.id)


def add_integration(
    ctx: Context, actor: Actor, service: str, *, kind: str, name: str = ""
) -> NewKey:
    """Add an integration of `kind` to the service, named `name` (or after its
    kind). Its key is in the result and nowhere else. Raises InvalidInput,
    NotFound or Conflict (the service has an integration of that name)."""
    require_role(actor, Role.ADMIN)
    service = _name(service, "service")
    if kind not in integrations.KINDS:
        raise InvalidInput(
            f"integration kind must be one of {', '.join(integrations.KINDS)}"
        )
    name = _name(name or kind, "integration")

    key = integrations.new_key()
    now = ctx.clock.now()
    with ctx.db.write() as session:
        # The lock keeps two adds of one name to one service from both passing.
        row = _service(session, service, lock=True)
        taken = select(Integration.id).where(
            Integration.service_id == row.id, Integration.name == name
        )
        if session.scalar(taken) is not None:
            raise Conflict(f"service {service!r} already has an integration {name!r}")

        integration = integrations.add(session, row.id, kind, name, key, now)
        audit(
            session,
            actor,
            at=now,
            action="integration.create",
            object_type="integration",
            object_id=integration.id,
            service=service,
            kind=kind,
            name=name,
            key_prefix=integration.key_prefix,
        )
        return NewKey(service, _integration_read(integration), key)


def disable_integration(
    ctx: Context, actor: Actor, service: str, name: str
) -> IntegrationRead:
    """Refuse the integration's key from now on: at once in this process, and
    within `integrations.KEY_CACHE_SECONDS` in processes that remember it.
    Disabling a disabled integration changes nothing. Raises NotFound."""
    require_role(actor, Role.ADMIN)
    service = _name(service, "service")
    name = _name(name, "integration")

    with ctx.db.write() as session:
        integration = _integration(session, service, name)
        if not integration.disabled:
            integration.disabled = True
            audit(
                session,
                actor,
                at=ctx.clock.now(),
                action="integration.disable",
                object_type="integration",
                object_id=integration.id,
                service=service,
                name=name,
            )
        found = _integration_read(integration)

    integrations.forget_cached_keys(ctx)
    return found


def rotate_key(ctx: Context, actor: Actor, service: str, name: str) -> NewKey:
    """Give the integration a new key; the old one stops working (at once in
    this process, within `integrations.KEY_CACHE_SECONDS` elsewhere). A
    disabled integration stays disabled. Raises NotFound."""
    require_role(actor, Role.ADMIN)
    service = _name(service, "service")
    name = _name(name, "integration")

    key = integrations.new_key()
    with ctx.db.write() as session:
        integration = _integration(session, service, name)
        old_prefix = integration.key_prefix
        integrations.set_key(integration, key)
        audit(
            session,
            actor,
            at=ctx.clock.now(),
            action="integration.rotate_key",
            object_type="integration",
            object_id=integration.id,
            service=service,
            name=name,
            old_key_prefix=old_prefix,
            key_prefix=integration.key_prefix,
        )
        rotated = NewKey(service, _integration_read(integration), key)

    integrations.forget_cached_keys(ctx)
    return rotated


def _name(value: str, what: str) -> str:
    name = value.strip()
    if _CONTROL.search(name):
        raise InvalidInput(
            f"{_a(what)} name cannot hold NUL or other control characters"
        )
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"{_a(what)} name of 1 to {MAX_NAME} characters is required")
    return name


def _description(value: str) -> str:
    description = value.strip()
    if _CONTROL_IN_TEXT.search(description):
        raise InvalidInput(
            "a description cannot hold NUL or control characters other than "
            "newlines and tabs"
        )
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"a description has at most {MAX_DESCRIPTION} characters")
    return description


def _email(value: str) -> str:
    return value.strip().lower()


def _check_steps(steps: Sequence[StepInput], repeat: int) -> None:
    if not 1 <= len(steps) <= MAX_STEPS:
        raise InvalidInput(f"a policy has 1 to {MAX_STEPS} steps")
    if not 0 <= repeat <= MAX_REPEAT:
        raise InvalidInput(f"repeat must be between 0 and {MAX_REPEAT}")

    for number, step in enumerate(steps, start=1):
        if not 0 <= step.delay_minutes <= MAX_DELAY_MINUTES:
            raise InvalidInput(
                f"step {number}: the delay must be 0 to {MAX_DELAY_MINUTES} minutes"
            )
        if not 1 <= len(step.emails) <= MAX_TARGETS:
            raise InvalidInput(f"step {number} pages 1 to {MAX_TARGETS} users")
        emails = [_email(e) for e in step.emails]
        for email in emails:
            if _CONTROL.search(email) or not email or len(email) > 320:
                raise InvalidInput(f"step {number}: {email!r} is not an email address")
        repeated = sorted({e for e in emails if emails.count(e) > 1})
        if repeated:
            raise InvalidInput(f"step {number} names {repeated[0]} twice")


def _active_users(session: Session, emails: Sequence[str]) -> dict[str, User]:
    """The users with these emails, by email. Raises NotFound for an unknown
    email and InvalidInput for a deactivated user."""
    wanted = sorted({_email(e) for e in emails})
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


def _team(session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(f"no team named {name!r}")
    return team


def _policies() -> Select[EscalationPolicy]:
    return select(EscalationPolicy).options(
        selectinload(EscalationPolicy.steps)
        .selectinload(EscalationStep.targets)
        .selectinload(EscalationTarget.user)
    )


def _policy(session: Session, name: str) -> EscalationPolicy:
    found = session.scalars(
        _policies().where(EscalationPolicy.name == name).limit(2)
    ).all()
    if not found:
        raise NotFound(f"no escalation policy named {name!r}")
    if len(found) > 1:
        raise Conflict(f"more than one escalation policy is named {name!r}")
    return found[0]


def _service(session: Session, name: str, *, lock: bool = False) -> Service:
    query = select(Service).where(Service.name == name)
    service = session.scalar(query.with_for_update() if lock else query)
    if service is None:
        raise NotFound(f"no service named {name!r}")
    return service


def _integration(session: Session, service: str, name: str) -> Integration:
    """The service's integration called `name`, locked for a change."""
    row = _service(session, service)
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


def _taken(what: str, name: str) -> Conflict:
    return Conflict(f"{_a(what)} named {name!r} already exists")


def _a(what: str) -> str:
    return f"an {what}" if what[0] in "aeiou" else f"a {what}"


def _policy_read(session: Session, policy: EscalationPolicy) -> PolicyRead:
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
            )
            for step in policy.steps
        ),
        services=tuple(services),
    )


def _service_read(session: Session, service_id: int) -> ServiceRead:
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
            _integration_read(i)
            for i in sorted(service.integrations, key=lambda i: i.id)
        ),
    )


def _integration_read(integration: Integration) -> IntegrationRead:
    return IntegrationRead(
        id=integration.id,
        name=integration.name,
        kind=integration.kind,
        key_prefix=integration.key_prefix,
        disabled=integration.disabled,
    )
