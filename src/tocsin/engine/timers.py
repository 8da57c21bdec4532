"""Which service carries out a due timer of each kind.

A feature that needs something done later (an escalation step, a shift
reminder, a check, an overdue task) writes a `Timer` row with its own `kind`
and adds one line here. The worker claims the row, opens a write transaction,
locks the incident when the timer has one, and calls the handler; a handler
that raises is retried with backoff, so it must be safe to run twice.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from tocsin.services import (
    action_items,
    escalation,
    feedback,
    maintenance,
    postmortems,
    schedule_reminders,
)
from tocsin.services.cadence import UPDATE_DUE
from tocsin.services.cadence import remind as remind_update_due
from tocsin.services.checks import TIMER_KIND as HTTP_CHECK
from tocsin.services.checks import on_timer as http_check_due
from tocsin.services.context import Context
from tocsin.services.heartbeats import TIMER_KIND as HEARTBEAT
from tocsin.services.heartbeats import on_timer as heartbeat_due
from tocsin.services.paging import NOTIFY, NOTIFY_DIGEST, fire_digest, fire_notify
from tocsin.services.report_pages import REPORT_NOTIFY
from tocsin.services.report_pages import fire_notify as report_notify
from tocsin.services.reports import REMIND as REPORT_REMINDER
from tocsin.services.reports import remind as remind_triage_owner
from tocsin.services.status_page import MAINTENANCE_TIMER, on_maintenance_timer
from tocsin.services.suggestions import RETRAIN as AI_RETRAIN
from tocsin.services.suggestions import on_retrain as ai_retrain
from tocsin.services.tasks import TASK_OVERDUE, remind_overdue
from tocsin.store.models import Incident, Timer

TimerHandler = Callable[[Session, Context, Timer, Incident | None], None]


def _escalate(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    if incident is not None:
        escalation.fire(session, ctx, incident, timer)


def _ack_timeout(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    if incident is not None:
        escalation.on_ack_timeout(session, ctx, incident, timer)


def _snooze_over(
    session: Session, ctx: Context, timer: Timer, incident: Incident | None
) -> None:
    if incident is not None:
        escalation.on_snooze_over(session, ctx, incident, timer)


HANDLERS: dict[str, TimerHandler] = {
    NOTIFY: fire_notify,
    NOTIFY_DIGEST: fire_digest,
    escalation.ESCALATE: _escalate,
    REPORT_REMINDER: remind_triage_owner,
    REPORT_NOTIFY: report_notify,
    schedule_reminders.SHIFT_REMINDER: schedule_reminders.fire,
    MAINTENANCE_TIMER: on_maintenance_timer,
    TASK_OVERDUE: remind_overdue,
    UPDATE_DUE: remind_update_due,
    postmortems.POSTMORTEM_DUE: postmortems.remind_due,
    action_items.ACTION_ITEM_OVERDUE: action_items.remind_overdue,
    feedback.FEEDBACK_INVITE: feedback.invite,
    HEARTBEAT: heartbeat_due,
    HTTP_CHECK: http_check_due,
    escalation.HELD: _escalate,
    maintenance.NOTIFY_HELD: fire_notify,
    escalation.ACK_TIMEOUT: _ack_timeout,
    escalation.SNOOZE_OVER: _snooze_over,
    AI_RETRAIN: ai_retrain,
}
