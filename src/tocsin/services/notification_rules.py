"""Notification rules: which contact method is used how long after a page starts.

"Email at once, SMS after 2 minutes, a call after 5 if still unacknowledged":
three rules. A user without rules is paged on every contact method at once;
the first rule a user adds replaces that default, so a user who wants the
default back removes their rules.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tocsin.domain.access import Actor
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services.contacts import MAX_ID, may_manage, user_of
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.store.models import ContactMethod, NotificationRule

# A day: a rule further out than that is not paging anyone in time.
MAX_DELAY_MINUTES = 24 * 60


class NotificationRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    contact_method_id: int
    kind: str
    address: str
    delay_minutes: int
    created_at: datetime


def _read(rule: NotificationRule) -> NotificationRuleRead:
    return NotificationRuleRead(
        id=rule.id,
        user_id=rule.user_id,
        contact_method_id=rule.contact_method_id,
        kind=rule.contact_method.kind,
        address=rule.contact_method.address,
        delay_minutes=rule.delay_minutes,
        created_at=rule.created_at,
    )


def list_rules(ctx: Context, actor: Actor, user_id: int) -> list[NotificationRuleRead]:
    may_manage(actor, user_id)
    with ctx.db.read() as session:
        user_of(session, user_id)
        rules = session.scalars(
            select(NotificationRule)
            .where(NotificationRule.user_id == user_id)
            .order_by(NotificationRule.delay_minutes, NotificationRule.id)
        )
        return [_read(rule) for rule in rules]


def add_rule(
    ctx: Context,
    actor: Actor,
    user_id: int,
    *,
    contact_method_id: int,
    delay_minutes: int,
) -> NotificationRuleRead:
    """Add a rule. Raises InvalidInput for a delay outside 0..1440 minutes,
    NotFound for a contact method that is not the user's, Conflict for a rule
    that exists."""
    may_manage(actor, user_id)
    if not 0 <= delay_minutes <= MAX_DELAY_MINUTES:
        raise InvalidInput(
            f"the delay must be 0 to {MAX_DELAY_MINUTES} minutes, not {delay_minutes}"
        )

    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            user_of(session, user_id)
            contact = (
                session.get(ContactMethod, contact_method_id)
                if 1 <= contact_method_id <= MAX_ID
                else None
            )
            if contact is None or contact.user_id != user_id:
                raise NotFound(
                    f"user {user_id} has no contact method {contact_method_id}"
                )
            rule = NotificationRule(
                user_id=user_id,
                contact_method_id=contact.id,
                delay_minutes=delay_minutes,
                created_at=now,
            )
            session.add(rule)
            session.flush()
            audit(
                session,
                actor,
                at=now,
                action="notification_rule.create",
                object_type="notification_rule",
                object_id=rule.id,
                user_id=user_id,
                contact_method_id=contact.id,
                delay_minutes=delay_minutes,
            )
            return _read(rule)
    except IntegrityError as error:
        raise Conflict(
            f"contact method {contact_method_id} already has a rule at "
            f"{delay_minutes} minutes"
        ) from error


def remove_rule(ctx: Context, actor: Actor, user_id: int, rule_id: int) -> None:
    may_manage(actor, user_id)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        in_range = 1 <= rule_id <= MAX_ID
        rule = session.get(NotificationRule, rule_id) if in_range else None
        if rule is None or rule.user_id != user_id:
            raise NotFound(f"user {user_id} has no notification rule {rule_id}")
        session.delete(rule)
        audit(
            session,
            actor,
            at=now,
            action="notification_rule.delete",
            object_type="notification_rule",
            object_id=rule_id,
            user_id=user_id,
        )
