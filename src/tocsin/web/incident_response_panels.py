"""What the incident page's response panels show: triage, roles, responders,
tasks, checklists and stakeholder updates, read through the same services the
API reads them with.

`panels` builds one view of them all; a form that was refused or previewed
names its panel in a `Focus`, so that the panel shows the message and keeps
what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tocsin.response_schemas import (
    ChecklistRead,
    RenderedUpdate,
    ResponseTeamRead,
    RoleHolderRead,
    RoleRead,
    RunbookRead,
    TaskRead,
    TemplateRead,
    UpdateRead,
)
from tocsin.schemas import IncidentRead
from tocsin.services import (
    cadence,
    catalog,
    incident_views,
    manual_escalation,
    responders,
    roles,
    runbooks,
    tasks,
    triage,
    updates,
)
from tocsin.services.context import Context
from tocsin.services.incident_views import Choice
from tocsin.services.tasks import TaskStatus
from tocsin.services.updates import Audience
from tocsin.triage_schemas import IncidentTypeRead, LevelRead, TriageScalesRead
from tocsin.web.auth import WebUser

PANELS = ("triage", "roles", "responders", "tasks", "checklists", "updates")
TASK_STATUSES = tuple((s.value, s.value.replace("_", " ")) for s in TaskStatus)
AUDIENCES = tuple(a.value for a in Audience)


@dataclass(frozen=True)
class Focus:
    """The panel a form answered in: its message (if refused), what was typed,
    and, for the update composer, the rendered preview."""

    panel: str
    problem: str | None = None
    typed: dict[str, str] = field(default_factory=dict)
    preview: RenderedUpdate | None = None


@dataclass(frozen=True)
class RoleRow:
    role: RoleRead
    holder: RoleHolderRead | None


@dataclass(frozen=True)
class Matrix:
    """The priority matrix as a table: impacts down, urgencies across."""

    impacts: list[LevelRead]
    urgencies: list[LevelRead]
    cells: dict[tuple[str, str], str]

    def priority(self, impact: str, urgency: str) -> str:
        return self.cells.get((impact, urgency), "")


@dataclass(frozen=True)
class ResponseView:
    incident: IncidentRead
    can_act: bool
    open: bool
    scales: TriageScalesRead
    matrix: Matrix
    roles: list[RoleRow]
    team: ResponseTeamRead
    tasks: list[TaskRead]
    checklists: list[ChecklistRead]
    runbooks: list[RunbookRead]
    templates: list[TemplateRead]
    updates: list[UpdateRead]
    cadence: cadence.CadenceState
    people: list[Choice]
    teams: list[Choice]
    policies: list[Choice]
    # What the impact form offers: active incident types and visible services.
    incident_types: list[IncidentTypeRead] = field(default_factory=list)
    services: list[Choice] = field(default_factory=list)
    # Where escalation stood when the panel was drawn (see escalate_now).
    escalation_seen: str = ""
    focus: Focus | None = None

    def problem(self, panel: str) -> str | None:
        return self.focus.problem if self.focus and self.focus.panel == panel else None

    def typed(self, panel: str) -> dict[str, str]:
        return self.focus.typed if self.focus and self.focus.panel == panel else {}

    def preview(self) -> RenderedUpdate | None:
        return self.focus.preview if self.focus else None

    def level_name(self, scale: str, key: str | None) -> str:
        for level in getattr(self.scales, scale):
            if level.key == key:
                return str(level.name)
        return (key or "none").upper()


def panels(
    ctx: Context, user: WebUser, incident: IncidentRead, focus: Focus | None = None
) -> ResponseView:
    """Everything the response panels show for `incident`, as `user` may see
    it. Choices (people, teams, policies, runbooks, templates) are read only
    for someone who may act."""
    actor, number = user.actor, incident.number
    can_act = user.can_act
    still_open = incident.status != "resolved"
    scales = triage.scales(ctx)

    current = roles.incident_roles(ctx, actor, number)
    holders = {holder.role: holder for holder in current}
    role_rows = [
        RoleRow(role, holders.get(role.key)) for role in roles.list_roles(ctx, actor)
    ]
    checklists = runbooks.checklists(ctx, actor, number)

    people: list[Choice] = []
    teams: list[Choice] = []
    policies: list[Choice] = []
    startable: list[RunbookRead] = []
    templates: list[TemplateRead] = []
    incident_types: list[IncidentTypeRead] = []
    services: list[Choice] = []
    if can_act:
        incident_types = triage.list_types(ctx, include_inactive=False)
        services = incident_views.visible_services(ctx, actor)
    if can_act and still_open:
        people = incident_views.assignable_users(ctx, actor, number)
        teams = [Choice(t.id, t.name) for t in catalog.list_teams(ctx)]
        policies = [Choice(p.id, p.name) for p in catalog.list_policies(ctx)]
        started = {checklist.runbook_id for checklist in checklists}
        startable = [
            runbook
            for runbook in runbooks.for_incident(ctx, actor, number)
            if runbook.id not in started and runbook.steps
        ]
        templates = updates.templates_for_incident(ctx, actor, number)

    return ResponseView(
        incident=incident,
        can_act=can_act,
        open=still_open,
        scales=scales,
        matrix=_matrix(scales),
        roles=role_rows,
        team=responders.response_team(ctx, actor, number),
        tasks=tasks.list_tasks(ctx, actor, number),
        checklists=checklists,
        runbooks=startable,
        templates=templates,
        updates=list(reversed(updates.list_updates(ctx, actor, number))),
        cadence=cadence.state(ctx, actor, number),
        people=people,
        teams=teams,
        policies=policies,
        incident_types=incident_types,
        services=services,
        escalation_seen=manual_escalation.position(ctx, actor, number),
        focus=focus,
    )


def panel_context(view: ResponseView, user: WebUser) -> dict[str, Any]:
    """What the panel templates are rendered with."""
    return {
        "user": user,
        "incident": view.incident,
        "response": view,
        "task_statuses": TASK_STATUSES,
        "audiences": AUDIENCES,
    }


def _matrix(scales: TriageScalesRead) -> Matrix:
    cells = {(cell.impact, cell.urgency): cell.priority for cell in scales.matrix}
    names = {level.key: level.name for level in scales.priority}
    return Matrix(
        impacts=scales.impact,
        urgencies=scales.urgency,
        cells={key: names.get(value, value.upper()) for key, value in cells.items()},
    )
