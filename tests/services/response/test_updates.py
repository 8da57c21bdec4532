"""Stakeholder updates: sandboxed templates, subscribers, the status page flag
and the per-severity cadence that reminds the communications lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.channels.servers import serve
from tests.services.response.conftest import (
    Crew,
    outbox,
    run_worker,
    set_incident_type,
    timeline,
)
from tocsin.clock import ManualClock
from tocsin.domain.access import SYSTEM
from tocsin.engine.worker import Worker
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.services import (
    incident_triage,
    incidents,
    roles,
    update_subscriptions,
    updates,
)
from tocsin.services.context import Context
from tocsin.services.updates import TemplateInput, UpdateInput
from tocsin.store.models import IncidentUpdate, Timer

INTERNAL = TemplateInput(
    name="Internal progress",
    audience="internal",
    subject="#{{ incident.number }} {{ incident.severity }}: {{ incident.title }}",
    body="Impact: {{ impact }}\nNext update by {{ eta or 'the next cadence' }}.",
)


@pytest.fixture
def template(ctx: Context, crew: Crew) -> int:
    return updates.create_template(ctx, crew.adam, INTERNAL).id


def test_an_update_renders_its_template_and_mails_subscribers(
    ctx: Context, crew: Crew, template: int, clock: ManualClock
) -> None:
    """Incident and team subscribers get the rendered update, with its ETA."""
    update_subscriptions.subscribe(
        ctx, crew.ann, "war-room@example.com", number=crew.number
    )
    update_subscriptions.subscribe(ctx, crew.ann, "ops-leads@example.com", team="Ops")
    eta = clock.now() + timedelta(hours=2)

    update = updates.post(
        ctx,
        crew.ann,
        crew.number,
        UpdateInput(
            audience="internal", variables={"impact": "checkout slow"}, eta=eta
        ),
    )

    assert update.subject == f"#{crew.number} SEV1: Disk full on db-1"
    assert update.body.startswith("Impact: checkout slow\nNext update by 2026-03-02")
    assert update.recipients == 2
    mails = outbox(ctx, "update")
    assert sorted(m.recipient for m in mails) == [
        "ops-leads@example.com",
        "war-room@example.com",
    ]
    assert "ETA: 2026-03-02 11:00 UTC" in mails[0].body
    assert len(timeline(ctx, "update_posted")) == 1


def test_an_undefined_variable_is_refused_and_nothing_is_sent(
    ctx: Context, crew: Crew, template: int
) -> None:
    """Forgetting `impact` is InvalidInput naming it; no update, no mail."""
    update_subscriptions.subscribe(
        ctx, crew.ann, "war-room@example.com", number=crew.number
    )

    with pytest.raises(InvalidInput, match="'impact' is undefined"):
        updates.post(ctx, crew.ann, crew.number, UpdateInput(audience="internal"))

    assert updates.list_updates(ctx, crew.ann, crew.number) == []
    assert outbox(ctx, "update") == []


@pytest.mark.parametrize(
    "body",
    [
        "{{ incident.__class__.__mro__ }}",
        "{{ incident.items() }}",
        "{{ impact.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ ''.format.__self__ }}",
        "{% for a in impact %}{% for b in impact %}{% endfor %}{% endfor %}",
    ],
)
def test_a_template_cannot_reach_python_objects(
    ctx: Context, crew: Crew, body: str
) -> None:
    """Internals are out of reach: refused when saved or when rendered."""
    try:
        updates.create_template(
            ctx,
            crew.adam,
            TemplateInput(name="evil", audience="internal", subject="x", body=body),
        )
    except InvalidInput:
        return
    with pytest.raises(InvalidInput):
        updates.preview(
            ctx,
            crew.ann,
            crew.number,
            UpdateInput(audience="internal", variables={"impact": "x"}),
        )


def test_templates_that_do_not_parse_are_refused(ctx: Context, crew: Crew) -> None:
    """A syntax error is InvalidInput with the line; nothing is stored."""
    with pytest.raises(InvalidInput, match="line 2"):
        updates.create_template(
            ctx,
            crew.adam,
            TemplateInput(
                name="bad", audience="internal", subject="x", body="ok\n{% if %}"
            ),
        )

    assert updates.list_templates(ctx, crew.ann) == []


def test_templates_are_chosen_by_incident_type_and_audience(
    ctx: Context, crew: Crew, template: int
) -> None:
    """Without a name, the audience's template for any type is used; a wrong
    audience for a named template is refused."""
    rendered = updates.preview(
        ctx,
        crew.ann,
        crew.number,
        UpdateInput(audience="internal", variables={"impact": "none"}),
    )
    assert rendered.body.startswith("Impact: none")

    with pytest.raises(InvalidInput, match="no executive template"):
        updates.preview(ctx, crew.ann, crew.number, UpdateInput(audience="executive"))
    with pytest.raises(InvalidInput, match="internal audience"):
        updates.preview(
            ctx,
            crew.ann,
            crew.number,
            UpdateInput(audience="executive", template="Internal progress"),
        )


def test_a_written_update_needs_no_template(ctx: Context, crew: Crew) -> None:
    """Subject and body may be written out; templates are not consulted."""
    update = updates.post(
        ctx,
        crew.ann,
        crew.number,
        UpdateInput(audience="executive", subject="Checkout degraded", body="Working"),
    )

    assert (update.subject, update.body, update.template_id) == (
        "Checkout degraded",
        "Working",
        None,
    )


def test_status_page_flag_is_recorded(ctx: Context, crew: Crew) -> None:
    """An update for the status page is published there and says so."""
    update = updates.post(
        ctx,
        crew.ann,
        crew.number,
        UpdateInput(
            audience="customers",
            subject="Checkout is slow",
            body="We are looking into slow checkouts.",
            status_page=True,
        ),
    )

    assert (update.status_page, update.status_page_published) == (True, True)


def test_only_managers_write_templates_and_viewers_post_nothing(
    ctx: Context, crew: Crew
) -> None:
    """Responders cannot add templates; viewers cannot post updates."""
    with pytest.raises(Forbidden):
        updates.create_template(ctx, crew.ann, INTERNAL)
    with pytest.raises(Forbidden):
        updates.post(
            ctx,
            crew.vic,
            crew.number,
            UpdateInput(audience="internal", subject="x", body="y"),
        )


@pytest.mark.parametrize(
    "address", ["not-an-address", "a@b", "x@example.com\r\nBcc: y@example.com"]
)
def test_bad_subscriber_addresses_are_refused(
    ctx: Context, crew: Crew, address: str
) -> None:
    """Only plain email addresses can subscribe."""
    with pytest.raises(InvalidInput):
        update_subscriptions.subscribe(ctx, crew.ann, address, number=crew.number)

    assert update_subscriptions.subscriptions(ctx, crew.ann, number=crew.number) == []


def test_overdue_updates_remind_the_lead_once_per_cadence(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """SEV1's cadence is 30 min: one reminder when it passes, however many
    worker passes run, and the next only a whole cadence later."""
    roles.assign(ctx, crew.ann, crew.number, "communications", crew.bob_user.id)

    clock.advance(minutes=29)
    run_worker(ctx)
    assert outbox(ctx, "update_overdue") == []

    for _ in range(5):
        clock.advance(minutes=1)
        run_worker(ctx)
    [reminder] = outbox(ctx, "update_overdue")
    assert reminder.recipient == "bob@example.com"

    clock.advance(minutes=20)
    run_worker(ctx)
    assert len(outbox(ctx, "update_overdue")) == 1

    clock.advance(minutes=10)
    run_worker(ctx)
    assert len(outbox(ctx, "update_overdue")) == 2
    assert len(timeline(ctx, "update_overdue")) == 2


def test_posting_an_update_restarts_the_cadence(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """An update just before the cadence ends pushes the reminder a cadence on."""
    roles.assign(ctx, crew.ann, crew.number, "communications", crew.bob_user.id)
    clock.advance(minutes=20)
    updates.post(
        ctx,
        crew.bob,
        crew.number,
        UpdateInput(audience="internal", subject="Still on it", body="Progress"),
    )

    clock.advance(minutes=25)
    run_worker(ctx)
    assert outbox(ctx, "update_overdue") == []

    clock.advance(minutes=6)
    run_worker(ctx)
    assert len(outbox(ctx, "update_overdue")) == 1


def test_raising_the_severity_starts_a_cadence_it_had_none_of(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """A lead named while SEV4 (no cadence) is reminded once the incident is
    raised to SEV1, 30 min after the raise."""
    incident_triage.set_severity(ctx, crew.ann, crew.number, "sev4", "minor")
    roles.assign(ctx, crew.ann, crew.number, "communications", crew.bob_user.id)
    clock.advance(hours=2)
    incident_triage.set_severity(ctx, crew.ann, crew.number, "sev1", "worse")

    clock.advance(minutes=29)
    run_worker(ctx)
    assert outbox(ctx, "update_overdue") == []

    clock.advance(minutes=1)
    run_worker(ctx)
    [reminder] = outbox(ctx, "update_overdue")
    assert reminder.recipient == "bob@example.com"


def test_a_shorter_cadence_after_a_severity_change_brings_the_reminder_forward(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """Raised from SEV3 (every 240 min) to SEV1 (every 30 min) 20 minutes after
    the last update, the lead is reminded 30 min after that update, not 240."""
    incident_triage.set_severity(ctx, crew.ann, crew.number, "sev3", "minor")
    roles.assign(ctx, crew.ann, crew.number, "communications", crew.bob_user.id)
    updates.post(
        ctx,
        crew.bob,
        crew.number,
        UpdateInput(audience="internal", subject="Looking", body="Looking into it"),
    )
    clock.advance(minutes=20)
    incident_triage.set_severity(ctx, crew.ann, crew.number, "sev1", "worse")

    clock.advance(minutes=9)
    run_worker(ctx)
    assert outbox(ctx, "update_overdue") == []

    clock.advance(minutes=1)
    run_worker(ctx)
    assert len(outbox(ctx, "update_overdue")) == 1


def test_lowering_to_a_severity_without_cadence_stops_the_reminders(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """SEV1 to SEV4, which has no cadence: nothing is owed any more."""
    roles.assign(ctx, crew.ann, crew.number, "communications", crew.bob_user.id)
    incident_triage.set_severity(ctx, crew.ann, crew.number, "sev4", "minor")

    clock.advance(hours=10)
    run_worker(ctx)

    assert outbox(ctx, "update_overdue") == []


def test_resolved_incidents_owe_no_updates(
    ctx: Context, crew: Crew, clock: ManualClock
) -> None:
    """After resolution the cadence stops: no reminder, no new timer."""
    roles.assign(ctx, crew.ann, crew.number, "communications", crew.bob_user.id)
    incidents.resolve(ctx, crew.ann, crew.number)

    clock.advance(hours=10)
    run_worker(ctx)

    assert outbox(ctx, "update_overdue") == []
    with ctx.db.read() as session:
        assert (
            session.scalars(select(Timer).where(Timer.kind == "update_due")).all() == []
        )
        assert session.scalars(select(IncidentUpdate)).all() == []


def test_slack_subscribers_get_the_update_through_a_real_webhook(
    ctx: Context, crew: Crew
) -> None:
    """A Slack incoming webhook on 127.0.0.1 receives the update's text."""
    ctx.settings = ctx.settings.model_copy(
        update={"outbound_allowed_networks": ["127.0.0.1/32"]}
    )
    for server in serve():
        update_subscriptions.subscribe(
            ctx, crew.ann, f"{server.url}/hooks/room", team="Ops", kind="slack"
        )
        updates.post(
            ctx,
            crew.ann,
            crew.number,
            UpdateInput(audience="internal", subject="Checkout slow", body="<!here>"),
        )

        Worker(ctx).run_once()

        [request] = server.requests("/hooks/room")
        sent = request.json()
        assert "Checkout slow" in sent["text"]
        assert "&lt;!here&gt;" in str(sent["blocks"])


def test_a_bad_slack_address_is_refused(ctx: Context, crew: Crew) -> None:
    """Neither a channel id nor a URL: InvalidInput, nothing stored."""
    with pytest.raises(InvalidInput):
        update_subscriptions.subscribe(
            ctx, crew.ann, "not a channel", team="Ops", kind="slack"
        )

    assert update_subscriptions.subscriptions(ctx, crew.ann, team="Ops") == []


def test_a_template_for_the_incident_type_wins_over_the_general_one(
    ctx: Context, crew: Crew, template: int
) -> None:
    """Security incidents get the security template; others the general one."""
    updates.create_template(
        ctx,
        crew.adam,
        TemplateInput(
            name="Security internal",
            audience="internal",
            incident_type="Security",
            subject="[{{ incident.type }}] #{{ incident.number }}",
            body="Do not forward.",
        ),
    )
    plain = UpdateInput(audience="internal", variables={"impact": "x"})
    assert updates.preview(ctx, crew.ann, crew.number, plain).body.startswith("Impact")

    set_incident_type(ctx, crew.number, "Security", "sec")

    rendered = updates.preview(ctx, crew.ann, crew.number, plain)
    assert (rendered.subject, rendered.body) == (
        f"[Security] #{crew.number}",
        "Do not forward.",
    )


def test_the_public_incident_is_titled_by_the_update_not_the_alert(
    ctx: Context, crew: Crew
) -> None:
    """The incident's own title comes from its alert ("Disk full on db-1") and
    is internal: the public incident takes the subject written for the update."""
    from tocsin.services import status_page, status_reads

    updates.post(
        ctx,
        crew.ann,
        crew.number,
        UpdateInput(
            audience="customers",
            subject="Checkout is slow",
            body="We are looking into slow checkouts.",
            status_page=True,
        ),
    )

    [public] = status_page.list_incidents(ctx, SYSTEM)
    assert public.title == "Checkout is slow"
    summary = status_reads.summary(ctx).model_dump_json()
    assert "Disk full" not in summary


def test_a_long_subject_is_cut_to_a_public_title_rather_than_refused(
    ctx: Context, crew: Crew
) -> None:
    """A subject may run to 500 characters, a public title to 200: the update
    still reaches the page, under the subject cut short."""
    from tocsin.services import status_page

    subject = "Checkout is slow " * 20
    update = updates.post(
        ctx,
        crew.ann,
        crew.number,
        UpdateInput(
            audience="customers", subject=subject, body="Looking", status_page=True
        ),
    )

    assert update.status_page_published
    [public] = status_page.list_incidents(ctx, SYSTEM)
    assert len(public.title) == 200
    assert public.title.startswith("Checkout is slow Checkout")


def test_a_later_update_keeps_the_public_title_a_manager_corrected(
    ctx: Context, crew: Crew
) -> None:
    """The first status-page update opens the public incident under the
    update's subject; once a manager retitled it on the status page, later
    updates do not put the internal title back."""
    from tocsin.services import status_page

    def publish(body: str) -> None:
        updates.post(
            ctx,
            crew.ann,
            crew.number,
            UpdateInput(
                audience="customers", subject="Slow", body=body, status_page=True
            ),
        )

    publish("We are looking into it.")
    [public] = status_page.list_incidents(ctx, SYSTEM)
    status_page.edit_incident(ctx, crew.adam, public.id, title="Slow checkouts")

    publish("A fix is rolling out.")

    after = status_page.get_incident(ctx, SYSTEM, public.id)
    assert after.title == "Slow checkouts"
    assert [u.message for u in after.updates][-1] == "A fix is rolling out."


def test_a_template_named_by_a_superscript_digit_is_not_found(
    ctx: Context, crew: Crew, template: int
) -> None:
    """A name of "²" passes isdigit() but not int(): it is a name nobody has,
    not an id, and the sender hears so rather than getting a server error."""
    with pytest.raises(NotFound, match="no template named"):
        updates.preview(
            ctx, crew.ann, crew.number, UpdateInput(audience="internal", template="²")
        )
