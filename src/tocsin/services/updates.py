"""Stakeholder updates: message templates per incident type and audience,
rendered in a sandbox, sent to internal subscribers and, when asked, to the
status page.

Templates are Jinja2 rendered by `tocsin.domain.message_templates`: they see plain
values only (the incident as a dict of strings and numbers, the ETA, the
author, and the variables the sender gives) and cannot reach Python objects.
An undefined variable is an error (400), never an empty hole in a message
sent to executives.

Each update (re)starts the severity's update cadence (see services.cadence).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tocsin.digits import plain_digits
from tocsin.domain import message_templates
from tocsin.domain.access import Actor, Role, require_role
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.response_schemas import (
    RenderedUpdate,
    TemplatePreview,
    TemplateRead,
    UpdateRead,
)
from tocsin.services import cadence, status_page, update_samples, update_subscriptions
from tocsin.services.context import Context
from tocsin.services.incident_scope import (
    MANAGER,
    MAX_ID,
    checked_instant,
    checked_line,
    checked_text,
    incident_type_names,
    locked_incident,
    looked_up,
    visible_incident,
)
from tocsin.services.records import add_timeline, audit
from tocsin.services.status_common import MAX_TITLE, clip
from tocsin.store.db import table_of
from tocsin.store.models import (
    Incident,
    IncidentUpdate,
    OutboxMessage,
    UpdateSubscription,
    UpdateTemplate,
)

MAX_SUBJECT = 500
MAX_BODY = 20_000
MAX_VARIABLES = 50
MAX_VALUE = 2_000
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")

_OUTBOX = table_of(OutboxMessage)


class Audience(StrEnum):
    INTERNAL = "internal"
    EXECUTIVE = "executive"
    CUSTOMERS = "customers"


@dataclass(frozen=True)
class TemplateInput:
    name: str
    audience: str
    subject: str
    body: str
    incident_type: str | None = None


@dataclass(frozen=True)
class UpdateInput:
    """An update: from a template (by name, or the one that fits the incident's
    type and the audience) with variables, or written out in subject and
    body."""

    audience: str
    template: str | None = None
    subject: str | None = None
    body: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    eta: datetime | None = None
    status_page: bool = False


# Templates ---------------------------------------------------------------------


def create_template(ctx: Context, actor: Actor, new: TemplateInput) -> TemplateRead:
    """Add a template. Needs the manager role; a template that does not parse
    (or uses what the sandbox forbids) is refused."""
    require_role(actor, MANAGER)
    values = _checked_template(new)
    update_samples.render(ctx, actor, values)
    with ctx.db.write() as session:
        if session.scalar(
            select(UpdateTemplate.id).where(UpdateTemplate.name == values["name"])
        ):
            raise Conflict(f"there is already a template named {values['name']!r}")
        now = ctx.clock.now()
        template = UpdateTemplate(**values, created_at=now, updated_at=now)
        session.add(template)
        session.flush()
        _audit_template(session, actor, template, "template.create", now)
        return TemplateRead.model_validate(template)


def replace_template(
    ctx: Context, actor: Actor, template_id: int, new: TemplateInput
) -> TemplateRead:
    require_role(actor, MANAGER)
    values = _checked_template(new)
    update_samples.render(ctx, actor, values)
    with ctx.db.write() as session:
        template = _template(session, template_id)
        taken = session.scalar(
            select(UpdateTemplate.id).where(
                UpdateTemplate.name == values["name"],
                UpdateTemplate.id != template.id,
            )
        )
        if taken:
            raise Conflict(f"there is already a template named {values['name']!r}")
        now = ctx.clock.now()
        for name, value in values.items():
            setattr(template, name, value)
        template.updated_at = now
        _audit_template(session, actor, template, "template.update", now)
        return TemplateRead.model_validate(template)


def list_templates(
    ctx: Context,
    actor: Actor,
    *,
    audience: str | None = None,
    incident_type: str | None = None,
) -> list[TemplateRead]:
    require_role(actor, Role.VIEWER)
    with ctx.db.read() as session:
        query = select(UpdateTemplate).order_by(UpdateTemplate.name)
        if audience is not None:
            query = query.where(UpdateTemplate.audience == _audience(audience))
        if incident_type is not None:
            query = query.where(
                UpdateTemplate.incident_type == looked_up(incident_type, "type")
            )
        return [TemplateRead.model_validate(row) for row in session.scalars(query)]


def preview_template(ctx: Context, actor: Actor, new: TemplateInput) -> TemplatePreview:
    """What a template, saved or not, says for a made-up incident: the same
    checks and sandbox as saving and sending, sent nowhere. The sender's own
    variables show as `[name]`. Needs the manager role; InvalidInput names
    what is wrong."""
    require_role(actor, MANAGER)
    values = _checked_template(new)
    subject, body, asked = update_samples.render(ctx, actor, values)
    return TemplatePreview(subject=subject, body=body, variables=asked)


def templates_for_incident(
    ctx: Context, actor: Actor, number: int
) -> list[TemplateRead]:
    """The templates an update on the incident may use: those for its type
    first, then those for any type, each by audience and name. NotFound when
    the actor may not see the incident."""
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        types = {name.lower() for name in incident_type_names(incident)}
        rows = session.scalars(
            select(UpdateTemplate).order_by(
                UpdateTemplate.audience, UpdateTemplate.name
            )
        ).all()
        fitting = [t for t in rows if (t.incident_type or "").lower() in types]
        general = [t for t in rows if t.incident_type is None]
        return [TemplateRead.model_validate(row) for row in fitting + general]


def get_template(ctx: Context, actor: Actor, name_or_id: str) -> TemplateRead:
    require_role(actor, Role.VIEWER)
    with ctx.db.read() as session:
        return TemplateRead.model_validate(_template_named(session, name_or_id))


# Updates -----------------------------------------------------------------------


def preview(
    ctx: Context, actor: Actor, number: int, new: UpdateInput
) -> RenderedUpdate:
    """What the update would say, sent nowhere."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        _, subject, body = _compose(ctx, session, incident, actor, new)
        return RenderedUpdate(subject=subject, body=body)


def post(ctx: Context, actor: Actor, number: int, new: UpdateInput) -> UpdateRead:
    """Render and send an update: to the incident's and its team's subscribers
    by email, and to the status page when asked for. The update, its timeline
    entry and its messages are stored together or not at all."""
    require_role(actor, Role.RESPONDER)
    with ctx.db.write() as session:
        incident = locked_incident(session, actor, number)
        template, subject, body = _compose(ctx, session, incident, actor, new)
        eta = checked_instant(new.eta, "eta")

        now = ctx.clock.now()
        update = IncidentUpdate(
            incident_id=incident.id,
            audience=_audience(new.audience),
            template_id=template.id if template else None,
            subject=subject,
            body=body,
            eta=eta,
            status_page=new.status_page,
            author_user_id=actor.user_id,
            author_label=actor.label,
            created_at=now,
        )
        session.add(update)
        session.flush()
        update.recipients = _send(session, ctx, incident, update)
        if new.status_page:
            # The incident's own title often is its alert's summary, internal;
            # the subject was written for this update's audience.
            status_page.publish_update(
                session,
                ctx,
                incident_id=incident.id,
                message=body,
                stage=incident.stage or "investigating",
                actor=actor,
                title=clip(subject, MAX_TITLE),
            )
            update.status_page_published = True
        incident.updated_at = now
        eta_text = f"; ETA {eta:%Y-%m-%d %H:%M} UTC" if eta else ""
        page_text = "; on the status page" if new.status_page else ""
        add_timeline(
            session,
            incident,
            at=now,
            kind="update_posted",
            message=(
                f"{update.audience.capitalize()} update by {actor.label} to "
                f"{update.recipients} recipients{eta_text}{page_text}: {subject}"
            ),
            actor=actor,
            update_id=update.id,
        )
        cadence.arm(session, ctx, incident, since=now)
        audit(
            session,
            actor,
            at=now,
            action="incident.update_post",
            object_type="incident_update",
            object_id=update.id,
            number=incident.number,
            audience=update.audience,
            status_page=new.status_page,
        )
        session.flush()
        return UpdateRead.model_validate(update)


def list_updates(ctx: Context, actor: Actor, number: int) -> list[UpdateRead]:
    with ctx.db.read() as session:
        incident = visible_incident(session, actor, number)
        rows = session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident.id)
            .order_by(IncidentUpdate.created_at, IncidentUpdate.id)
        )
        return [UpdateRead.model_validate(row) for row in rows]


# Helpers -----------------------------------------------------------------------


def _compose(
    ctx: Context,
    session: Session,
    incident: Incident,
    actor: Actor,
    new: UpdateInput,
) -> tuple[UpdateTemplate | None, str, str]:
    """The template used (if any) and the rendered subject and body."""
    audience = _audience(new.audience)
    variables = _checked_variables(new.variables)
    eta = checked_instant(new.eta, "eta")
    written = new.subject is not None or new.body is not None
    if written and new.template is not None:
        raise InvalidInput("give a template or a subject and body, not both")

    if written:
        subject = checked_line(new.subject or "", "an update's subject", MAX_SUBJECT)
        body = checked_text(new.body or "", "an update's body", MAX_BODY)
        return None, subject, body

    if new.template is not None:
        template = _template_named(session, new.template)
        if template.audience != audience:
            raise InvalidInput(
                f"the template {template.name} is for the {template.audience} "
                f"audience, not {audience}"
            )
    else:
        template = _fitting_template(session, incident, audience)

    values = _values(ctx, incident, actor, eta, variables)
    subject = message_templates.render(template.subject, values, "the subject")
    body = message_templates.render(template.body, values, "the body")
    subject = checked_line(subject, "the rendered subject", MAX_SUBJECT)
    body = checked_text(body, "the rendered body", MAX_BODY)
    return template, subject, body


def _values(
    ctx: Context,
    incident: Incident,
    actor: Actor,
    eta: datetime | None,
    variables: dict[str, str],
) -> dict[str, Any]:
    """What a template may use: plain strings and numbers, nothing else."""
    types = incident_type_names(incident)
    values: dict[str, Any] = {
        "incident": {
            "number": incident.number,
            "title": incident.title,
            "severity": incident.severity.upper(),
            "status": incident.status,
            "stage": incident.stage or "",
            "type": types[0] if types else "",
            "service": incident.service.name,
            "opened_at": f"{incident.created_at:%Y-%m-%d %H:%M} UTC",
            "url": f"{ctx.settings.base_url.rstrip('/')}/incidents/{incident.number}",
        },
        "eta": f"{eta:%Y-%m-%d %H:%M} UTC" if eta else "",
        "author": actor.label,
        "now": f"{ctx.clock.now():%Y-%m-%d %H:%M} UTC",
    }
    clash = sorted(set(variables) & set(values))
    if clash:
        raise InvalidInput(f"variable names taken by Tocsin: {', '.join(clash)}")
    return values | variables


def _checked_variables(variables: dict[str, str]) -> dict[str, str]:
    if len(variables) > MAX_VARIABLES:
        raise InvalidInput(f"at most {MAX_VARIABLES} variables")
    checked = {}
    for name, value in variables.items():
        if not isinstance(name, str) or not _VARIABLE.fullmatch(name):
            raise InvalidInput(
                f"variable name {name!r}: letters, digits and '_', at most 40"
            )
        if not isinstance(value, str):
            raise InvalidInput(f"variable {name}: the value must be text")
        checked[name] = checked_text(value, f"variable {name}", MAX_VALUE, empty=True)
    return checked


def _fitting_template(
    session: Session, incident: Incident, audience: str
) -> UpdateTemplate:
    """The template for the incident's type and the audience; else the
    audience's template for any type. InvalidInput when there is none."""
    types = [name.lower() for name in incident_type_names(incident)]
    candidates = session.scalars(
        select(UpdateTemplate)
        .where(UpdateTemplate.audience == audience)
        .order_by(UpdateTemplate.name)
    ).all()
    for template in candidates:
        if template.incident_type and template.incident_type.lower() in types:
            return template
    for template in candidates:
        if template.incident_type is None:
            return template
    raise InvalidInput(
        f"no {audience} template fits incident #{incident.number}: name one, or "
        "write the subject and body"
    )


def _send(
    session: Session, ctx: Context, incident: Incident, update: IncidentUpdate
) -> int:
    """Queue the update to every subscriber of the incident and of its team."""
    rows = session.execute(
        select(UpdateSubscription.kind, UpdateSubscription.address)
        .where(update_subscriptions.reaching(incident))
        .order_by(UpdateSubscription.id)
    )
    targets = list(dict.fromkeys((row.kind, row.address) for row in rows))
    if not targets:
        return 0

    eta = f"\n\nETA: {update.eta:%Y-%m-%d %H:%M} UTC" if update.eta else ""
    session.execute(
        insert(_OUTBOX),
        [
            {
                "channel": kind,
                "recipient": address,
                "subject": f"[Tocsin] #{incident.number} {update.subject}"[:500],
                "body": f"{update.body}{eta}",
                "payload": {
                    "kind": "update",
                    "incident_number": incident.number,
                    "update_id": update.id,
                },
                "idempotency_key": uuid.uuid4().hex,
                "incident_id": incident.id,
                "user_id": None,
                "next_attempt_at": update.created_at,
                "created_at": update.created_at,
            }
            for kind, address in targets
        ],
    )
    ctx.work_queued.set()
    return len(targets)


def _checked_template(new: TemplateInput) -> dict[str, Any]:
    incident_type = None
    if new.incident_type is not None and new.incident_type.strip():
        incident_type = checked_line(new.incident_type, "an incident type", 100)
    subject = checked_line(new.subject, "a template's subject", MAX_SUBJECT)
    body = checked_text(new.body, "a template's body", MAX_BODY)
    message_templates.check(subject, "the subject")
    message_templates.check(body, "the body")
    return {
        "name": checked_line(new.name, "a template name", 200),
        "audience": _audience(new.audience),
        "subject": subject,
        "body": body,
        "incident_type": incident_type,
    }


def _audience(value: str) -> Audience:
    try:
        return Audience(value)
    except ValueError:
        choices = ", ".join(a.value for a in Audience)
        raise InvalidInput(f"an audience is one of {choices}") from None


def _template(session: Session, template_id: int) -> UpdateTemplate:
    template = (
        session.get(UpdateTemplate, template_id) if 0 < template_id <= MAX_ID else None
    )
    if template is None:
        raise NotFound(f"no template {template_id}")
    return template


def _template_named(session: Session, name_or_id: str) -> UpdateTemplate:
    name = looked_up(name_or_id, "template")
    found = session.scalar(select(UpdateTemplate).where(UpdateTemplate.name == name))
    is_id = plain_digits(name) and len(name) < 12
    if found is None and is_id:
        return _template(session, int(name))
    if found is None:
        raise NotFound(f"no template named {name_or_id!r}")
    return found


def _audit_template(
    session: Session,
    actor: Actor,
    template: UpdateTemplate,
    action: str,
    now: datetime,
) -> None:
    audit(
        session,
        actor,
        at=now,
        action=action,
        object_type="update_template",
        object_id=template.id,
        name=template.name,
        audience=template.audience,
    )
