"""Contact methods, notification rules and delivery counts.

Each route exists twice: under `/users/{user_id}` (the person themselves or an
admin) and under `/me` (the token's own user).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.schemas import MAX_ID
from tocsin.domain.access import Actor
from tocsin.errors import Forbidden
from tocsin.services import contacts, deliveries, notification_rules
from tocsin.services.contacts import ContactMethodCreated, ContactMethodRead, TestQueued
from tocsin.services.deliveries import DeliveryReport
from tocsin.services.notification_rules import NotificationRuleRead

router = APIRouter(tags=["contacts"])

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="The user's id.")]
ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]


class ContactMethodCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(
        min_length=1,
        max_length=20,
        description="email, sms, voice, slack, teams, webhook, or a plugin's kind.",
        examples=["sms"],
    )
    address: str = Field(
        min_length=1,
        max_length=1000,
        description=(
            "Email address; phone number in E.164 (+15551234567); Slack member "
            "id or incoming webhook URL; Teams workflow URL; webhook URL."
        ),
        examples=["+15551234567"],
    )
    label: str = Field(default="", max_length=100, examples=["work phone"])


class NotificationRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_method_id: int = Field(ge=1, le=MAX_ID)
    delay_minutes: int = Field(
        ge=0,
        le=notification_rules.MAX_DELAY_MINUTES,
        description="Minutes after the page starts; 0 is at once.",
    )


def _me(actor: Actor) -> int:
    if actor.user_id is None:
        raise Forbidden("this token does not stand for a user")
    return actor.user_id


# Contact methods ----------------------------------------------------------------


@router.get(
    "/users/{user_id}/contact-methods",
    operation_id="listContactMethods",
    summary="A user's contact methods",
    response_model=list[ContactMethodRead],
    responses=problem_responses(403, 404, 422),
)
def list_contacts(
    ctx: CtxDep, actor: ActorDep, user_id: UserId
) -> list[ContactMethodRead]:
    return contacts.list_contacts(ctx, actor, user_id)


@router.get(
    "/me/contact-methods",
    operation_id="listMyContactMethods",
    summary="Your contact methods",
    response_model=list[ContactMethodRead],
    responses=problem_responses(403),
)
def list_my_contacts(ctx: CtxDep, actor: ActorDep) -> list[ContactMethodRead]:
    return contacts.list_contacts(ctx, actor, _me(actor))


@router.post(
    "/users/{user_id}/contact-methods",
    operation_id="addContactMethod",
    summary="Add a contact method; a webhook's signing secret is shown only here",
    status_code=201,
    response_model=ContactMethodCreated,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def add_contact(
    ctx: CtxDep, actor: ActorDep, user_id: UserId, body: ContactMethodCreate
) -> ContactMethodCreated:
    return contacts.add_contact(
        ctx, actor, user_id, kind=body.kind, address=body.address, label=body.label
    )


@router.post(
    "/me/contact-methods",
    operation_id="addMyContactMethod",
    summary="Add a contact method of yours",
    status_code=201,
    response_model=ContactMethodCreated,
    responses=problem_responses(400, 403, 409, 422),
)
def add_my_contact(
    ctx: CtxDep, actor: ActorDep, body: ContactMethodCreate
) -> ContactMethodCreated:
    return contacts.add_contact(
        ctx, actor, _me(actor), kind=body.kind, address=body.address, label=body.label
    )


@router.delete(
    "/users/{user_id}/contact-methods/{contact_id}",
    operation_id="removeContactMethod",
    summary="Remove a contact method and its notification rules",
    status_code=204,
    responses=problem_responses(403, 404, 409, 422),
)
def remove_contact(
    ctx: CtxDep, actor: ActorDep, user_id: UserId, contact_id: ItemId
) -> None:
    contacts.remove_contact(ctx, actor, user_id, contact_id)


@router.delete(
    "/me/contact-methods/{contact_id}",
    operation_id="removeMyContactMethod",
    summary="Remove a contact method of yours",
    status_code=204,
    responses=problem_responses(403, 404, 409, 422),
)
def remove_my_contact(ctx: CtxDep, actor: ActorDep, contact_id: ItemId) -> None:
    contacts.remove_contact(ctx, actor, _me(actor), contact_id)


@router.post(
    "/users/{user_id}/contact-methods/{contact_id}/test",
    operation_id="testContactMethod",
    summary="Send a test notification; see GET /deliveries for how it went",
    status_code=202,
    response_model=TestQueued,
    responses=problem_responses(403, 404, 422),
)
def test_contact(
    ctx: CtxDep, actor: ActorDep, user_id: UserId, contact_id: ItemId
) -> TestQueued:
    return contacts.send_test(ctx, actor, user_id, contact_id)


@router.post(
    "/me/contact-methods/{contact_id}/test",
    operation_id="testMyContactMethod",
    summary="Send yourself a test notification",
    status_code=202,
    response_model=TestQueued,
    responses=problem_responses(403, 404, 422),
)
def test_my_contact(ctx: CtxDep, actor: ActorDep, contact_id: ItemId) -> TestQueued:
    return contacts.send_test(ctx, actor, _me(actor), contact_id)


# Notification rules ------------------------------------------------------------


@router.get(
    "/users/{user_id}/notification-rules",
    operation_id="listNotificationRules",
    summary="A user's notification rules (none: every contact method at once)",
    response_model=list[NotificationRuleRead],
    responses=problem_responses(403, 404, 422),
)
def list_rules(
    ctx: CtxDep, actor: ActorDep, user_id: UserId
) -> list[NotificationRuleRead]:
    return notification_rules.list_rules(ctx, actor, user_id)


@router.get(
    "/me/notification-rules",
    operation_id="listMyNotificationRules",
    summary="Your notification rules",
    response_model=list[NotificationRuleRead],
    responses=problem_responses(403),
)
def list_my_rules(ctx: CtxDep, actor: ActorDep) -> list[NotificationRuleRead]:
    return notification_rules.list_rules(ctx, actor, _me(actor))


@router.post(
    "/users/{user_id}/notification-rules",
    operation_id="addNotificationRule",
    summary="Use a contact method some minutes after a page starts",
    status_code=201,
    response_model=NotificationRuleRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def add_rule(
    ctx: CtxDep, actor: ActorDep, user_id: UserId, body: NotificationRuleCreate
) -> NotificationRuleRead:
    return notification_rules.add_rule(
        ctx,
        actor,
        user_id,
        contact_method_id=body.contact_method_id,
        delay_minutes=body.delay_minutes,
    )


@router.post(
    "/me/notification-rules",
    operation_id="addMyNotificationRule",
    summary="Add a notification rule of yours",
    status_code=201,
    response_model=NotificationRuleRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def add_my_rule(
    ctx: CtxDep, actor: ActorDep, body: NotificationRuleCreate
) -> NotificationRuleRead:
    return notification_rules.add_rule(
        ctx,
        actor,
        _me(actor),
        contact_method_id=body.contact_method_id,
        delay_minutes=body.delay_minutes,
    )


@router.delete(
    "/users/{user_id}/notification-rules/{rule_id}",
    operation_id="removeNotificationRule",
    summary="Remove a notification rule",
    status_code=204,
    responses=problem_responses(403, 404, 422),
)
def remove_rule(ctx: CtxDep, actor: ActorDep, user_id: UserId, rule_id: ItemId) -> None:
    notification_rules.remove_rule(ctx, actor, user_id, rule_id)


@router.delete(
    "/me/notification-rules/{rule_id}",
    operation_id="removeMyNotificationRule",
    summary="Remove a notification rule of yours",
    status_code=204,
    responses=problem_responses(403, 404, 422),
)
def remove_my_rule(ctx: CtxDep, actor: ActorDep, rule_id: ItemId) -> None:
    notification_rules.remove_rule(ctx, actor, _me(actor), rule_id)


# Deliveries -------------------------------------------------------------------


@router.get(
    "/deliveries",
    operation_id="getDeliveries",
    summary="Messages by channel and status, with the latest failures",
    response_model=DeliveryReport,
    responses=problem_responses(403),
)
def get_deliveries(ctx: CtxDep, actor: ActorDep) -> DeliveryReport:
    """`failed_total` counts messages that kept failing and were given up on."""
    return deliveries.report(ctx, actor)
