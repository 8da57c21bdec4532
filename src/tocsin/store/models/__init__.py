"""All models, importable from one place."""

from tocsin.store.models.base import Base
from tocsin.store.models.delivery import (
    AuditRecord,
    DeliveryAttempt,
    OutboxMessage,
    Timer,
)
from tocsin.store.models.incidents import Alert, Counter, Incident, TimelineEntry
from tocsin.store.models.maintenance import MaintenanceWindow
from tocsin.store.models.notifications import NotificationRule
from tocsin.store.models.people import (
    ApiToken,
    ContactMethod,
    Team,
    TeamMember,
    User,
    WebSession,
)
from tocsin.store.models.schedules import (
    CalendarFeed,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    ScheduleRotation,
    ScheduleRotationMember,
)
from tocsin.store.models.services import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Integration,
    Service,
)
from tocsin.store.models.signals import (
    ChangeEvent,
    Heartbeat,
    HttpCheck,
    HttpCheckResult,
    InboundMail,
    MailAddress,
)
from tocsin.store.models.status_page import (
    StatusComponent,
    StatusComponentChange,
    StatusComponentGroup,
    StatusIncident,
    StatusIncidentUpdate,
    StatusMaintenance,
    StatusSubscribeAttempt,
    StatusSubscriber,
)

__all__ = [
    "Alert",
    "ApiToken",
    "AuditRecord",
    "Base",
    "CalendarFeed",
    "ChangeEvent",
    "ContactMethod",
    "Counter",
    "DeliveryAttempt",
    "EscalationPolicy",
    "EscalationStep",
    "EscalationTarget",
    "Heartbeat",
    "HttpCheck",
    "HttpCheckResult",
    "InboundMail",
    "Incident",
    "Integration",
    "MailAddress",
    "MaintenanceWindow",
    "NotificationRule",
    "OutboxMessage",
    "Schedule",
    "ScheduleLayer",
    "ScheduleOverride",
    "ScheduleRotation",
    "ScheduleRotationMember",
    "Service",
    "StatusComponent",
    "StatusComponentChange",
    "StatusComponentGroup",
    "StatusIncident",
    "StatusIncidentUpdate",
    "StatusMaintenance",
    "StatusSubscribeAttempt",
    "StatusSubscriber",
    "Team",
    "TeamMember",
    "TimelineEntry",
    "Timer",
    "User",
    "WebSession",
]
