"""Services and their integrations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import Conflict, InvalidInput
from tocsin.services import integrations
from tocsin.services.catalog.common import (
    IntegrationRead,
    NewKey,
    ServiceRead,
    checked_description,
    checked_name,
    integration_named,
    integration_read,
    name_taken,
    policy_named,
    service_named,
    service_read,
    team_named,
)
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.models import (
    Integration,
    Service,
)


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
    name = checked_name(name, "service")
    team = checked_name(team, "team")
    policy = None if policy is None else checked_name(policy, "policy")
    description = checked_description(description)

    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            taken = select(Service.id).where(Service.name == name)
            if session.scalar(taken) is not None:
                raise name_taken("service", name)
            owner = team_named(session, team)
            pager = None if policy is None else policy_named(session, policy)

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
            return service_read(session, service.id)
    except IntegrityError as error:
        raise name_taken("service", name) from error


def list_services(ctx: Context) -> list[ServiceRead]:
    """Every service by name, with its team, policy and integrations."""
    with ctx.db.read() as session:
        ids = session.scalars(select(Service.id).order_by(Service.name)).all()
        return [service_read(session, id_) for id_ in ids]


def get_service(ctx: Context, name: str) -> ServiceRead:
    """One service by name. Raises NotFound."""
    name = checked_name(name, "service")
    with ctx.db.read() as session:
        return service_read(session, service_named(session, name).id)


def set_policy(ctx: Context, actor: Actor, service: str, policy: str) -> ServiceRead:
    """Make `policy` the one the service's new incidents page through. Open
    incidents keep the policy they started with. Raises NotFound."""
    require_role(actor, Role.ADMIN)
    service = checked_name(service, "service")
    policy = checked_name(policy, "policy")

    with ctx.db.write() as session:
        row = service_named(session, service, lock=True)
        pager = policy_named(session, policy)
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
        return service_read(session, row.id)


def add_integration(
    ctx: Context, actor: Actor, service: str, *, kind: str, name: str = ""
) -> NewKey:
    """Add an integration of `kind` to the service, named `name` (or after its
    kind). Its key is in the result and nowhere else. Raises InvalidInput,
    NotFound or Conflict (the service has an integration of that name)."""
    require_role(actor, Role.ADMIN)
    service = checked_name(service, "service")
    if kind not in integrations.KINDS:
        raise InvalidInput(
            f"integration kind must be one of {', '.join(integrations.KINDS)}"
        )
    name = checked_name(name or kind, "integration")

    key = integrations.new_key()
    now = ctx.clock.now()
    with ctx.db.write() as session:
        # The lock keeps two adds of one name to one service from both passing.
        row = service_named(session, service, lock=True)
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
        return NewKey(service, integration_read(integration), key)


def disable_integration(
    ctx: Context, actor: Actor, service: str, name: str
) -> IntegrationRead:
    """Refuse the integration's key from now on: at once in this process, and
    within `integrations.KEY_CACHE_SECONDS` in processes that remember it.
    Disabling a disabled integration changes nothing. Raises NotFound."""
    require_role(actor, Role.ADMIN)
    service = checked_name(service, "service")
    name = checked_name(name, "integration")

    with ctx.db.write() as session:
        integration = integration_named(session, service, name)
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
        found = integration_read(integration)

    integrations.forget_cached_keys(ctx)
    return found


def rotate_key(ctx: Context, actor: Actor, service: str, name: str) -> NewKey:
    """Give the integration a new key; the old one stops working (at once in
    this process, within `integrations.KEY_CACHE_SECONDS` elsewhere). A
    disabled integration stays disabled. Raises NotFound."""
    require_role(actor, Role.ADMIN)
    service = checked_name(service, "service")
    name = checked_name(name, "integration")

    key = integrations.new_key()
    with ctx.db.write() as session:
        integration = integration_named(session, service, name)
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
        rotated = NewKey(service, integration_read(integration), key)

    integrations.forget_cached_keys(ctx)
    return rotated
