"""Service additions the response settings pages use: previewing an update
template for a sample incident (and refusing to save one that fails there),
moving a role in the catalogue, turning a declaration trigger on and off, and
the channel overview with its secrets masked."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.builders import actor_of, make_user
from tocsin.domain.access import SYSTEM
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.services import channel_settings, roles, updates
from tocsin.services import declaration_triggers as triggers
from tocsin.services.context import Context
from tocsin.services.updates import TemplateInput


def template(**fields: str) -> TemplateInput:
    values = {
        "name": "Internal",
        "audience": "internal",
        "subject": "#{{ incident.number }} {{ incident.severity }}",
        "body": "Impact: {{ impact }}; by {{ author }}",
    } | fields
    return TemplateInput(**values)


def test_the_preview_renders_a_sample_incident(ctx: Context) -> None:
    shown = updates.preview_template(ctx, SYSTEM, template())

    assert shown.subject == "#42 SEV2"
    assert shown.body == "Impact: [impact]; by tocsin"
    assert shown.variables == ["impact"]


@pytest.mark.parametrize(
    "body",
    [
        "{{ incident.__class__ }}",
        "{{ incident.nothing }}",
        "{{ 1 / 0 }}",
        "{{ 'x' * 100000 }}",
    ],
)
def test_a_template_that_fails_in_the_sandbox_is_not_saved(
    ctx: Context, body: str
) -> None:
    with pytest.raises(InvalidInput):
        updates.preview_template(ctx, SYSTEM, template(body=body))
    with pytest.raises(InvalidInput):
        updates.create_template(ctx, SYSTEM, template(body=body))

    assert updates.list_templates(ctx, SYSTEM) == []


def test_only_managers_preview_templates(ctx: Context) -> None:
    ann = actor_of(ctx, make_user(ctx, "ann@example.com"))

    with pytest.raises(Forbidden):
        updates.preview_template(ctx, ann, template())


def test_roles_move_within_the_catalogue_and_stop_at_its_ends(ctx: Context) -> None:
    roles.list_roles(ctx, SYSTEM)

    up = roles.move_role(ctx, SYSTEM, "operations", -2)
    top = roles.move_role(ctx, SYSTEM, "operations", -10)
    down = roles.move_role(ctx, SYSTEM, "commander", 50)

    assert [r.key for r in up] == [
        "commander",
        "operations",
        "communications",
        "scribe",
    ]
    assert top[0].key == "operations"
    assert [r.key for r in down] == [
        "operations",
        "communications",
        "scribe",
        "commander",
    ]
    listed = roles.list_roles(ctx, SYSTEM)
    assert [r.position for r in listed] == [0, 1, 2, 3]


def test_moving_roles_needs_a_manager_and_a_known_role(ctx: Context) -> None:
    ann = actor_of(ctx, make_user(ctx, "ann@example.com"))

    with pytest.raises(Forbidden):
        roles.move_role(ctx, ann, "scribe", -1)
    with pytest.raises(NotFound):
        roles.move_role(ctx, SYSTEM, "nobody", -1)


def test_a_trigger_is_turned_off_and_on_keeping_its_settings(ctx: Context) -> None:
    spec = triggers.TriggerSpec(
        name="db down", severity="sev1", matchers=("env=prod",), alert_count=2
    )
    made = triggers.create_trigger(ctx, SYSTEM, spec)

    off = triggers.set_enabled(ctx, SYSTEM, made.id, False)
    on = triggers.set_enabled(ctx, SYSTEM, made.id, True)

    assert off.enabled is False
    assert on.enabled is True
    assert (on.matchers, on.alert_count, on.severity) == (["env=prod"], 2, "sev1")


def test_only_admins_turn_triggers_off(ctx: Context) -> None:
    mia = actor_of(ctx, make_user(ctx, "mia@example.com", role="manager"))
    made = triggers.create_trigger(
        ctx, SYSTEM, triggers.TriggerSpec(name="x", severity="sev2")
    )

    with pytest.raises(Forbidden):
        triggers.set_enabled(ctx, mia, made.id, False)
    with pytest.raises(NotFound):
        triggers.set_enabled(ctx, SYSTEM, made.id + 1000, False)


def test_the_channel_overview_masks_secrets(ctx: Context) -> None:
    settings = ctx.settings.model_copy(
        update={
            "slack_bot_token": "xoxb-secret",
            "twilio_account_sid": "AC1",
            "apprise_targets": {"ops": "tgram://token/chat"},
        }
    )

    found = {
        c.kind: c
        for c in channel_settings.overview(replace(ctx, settings=settings), SYSTEM)
    }

    everything = repr(found)
    assert "xoxb-secret" not in everything
    assert "tgram://" not in everything
    assert found["slack"].configured
    assert not found["sms"].configured
    assert "twilio_auth_token" in found["sms"].note
    assert found["apprise"].note == "Named targets: ops"
    assert all(channel.enabled for channel in found.values())


def test_only_admins_see_the_channel_overview(ctx: Context) -> None:
    mia = actor_of(ctx, make_user(ctx, "mia@example.com", role="manager"))

    with pytest.raises(Forbidden):
        channel_settings.overview(ctx, mia)


def test_credentials_in_a_channel_url_are_masked(ctx: Context) -> None:
    """An API URL may carry a user and password (a proxy's, say): the overview
    shows the URL with them masked."""
    settings = ctx.settings.model_copy(
        update={
            "slack_api_url": "https://bot:hunter2@slack.internal/api/",
            "twilio_base_url": "https://AC1:twilio-pass@sms.internal",
        }
    )

    found = {
        c.kind: {s.name: s.value for s in c.settings}
        for c in channel_settings.overview(replace(ctx, settings=settings), SYSTEM)
    }

    everything = repr(found)
    assert "hunter2" not in everything
    assert "twilio-pass" not in everything
    assert found["slack"]["slack_api_url"] == "https://***@slack.internal/api/"
    assert found["sms"]["twilio_base_url"] == "https://***@sms.internal"
