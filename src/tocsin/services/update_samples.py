"""Rendering an update template for a made-up incident: the editor's preview,
and the trial run a template must pass before it is saved (a template that
fails here would fail when an update is sent with it)."""

from __future__ import annotations

from typing import Any

from tocsin.domain import message_templates
from tocsin.domain.access import Actor
from tocsin.services.context import Context


def render(
    ctx: Context, actor: Actor, template: dict[str, Any]
) -> tuple[str, str, list[str]]:
    """The checked template rendered for a sample incident, and the variables
    the sender must give. A template that fails here would fail when sent, so
    saving it is refused too."""
    now = ctx.clock.now()
    base = ctx.settings.base_url.rstrip("/")
    # The same names, and kinds of value, as updates._values gives a real
    # incident's update.
    values: dict[str, Any] = {
        "incident": {
            "number": 42,
            "title": "Checkout is slow for some customers",
            "severity": "SEV2",
            "status": "acknowledged",
            "stage": "identified",
            "type": template["incident_type"] or "",
            "service": "checkout",
            "opened_at": f"{now:%Y-%m-%d %H:%M} UTC",
            "url": f"{base}/incidents/42",
        },
        "eta": "",
        "author": actor.label,
        "now": f"{now:%Y-%m-%d %H:%M} UTC",
    }
    asked = message_templates.variables(template["subject"], "the subject")
    asked |= message_templates.variables(template["body"], "the body")
    senders = sorted(asked - set(values))
    values |= {name: f"[{name}]" for name in senders}

    subject = message_templates.render(template["subject"], values, "the subject")
    body = message_templates.render(template["body"], values, "the body")
    return subject, body, senders
