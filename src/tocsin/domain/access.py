"""Who may see and do what. Roles are ordered: viewer < responder < manager <
admin. A manager runs their teams' on-call set-up and communication (schedules,
policies, the status page); only an admin sees every team and changes
organisation-wide settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from tocsin.errors import Forbidden


class Role(StrEnum):
    VIEWER = "viewer"
    RESPONDER = "responder"
    MANAGER = "manager"
    ADMIN = "admin"


_RANK = {Role.VIEWER: 0, Role.RESPONDER: 1, Role.MANAGER: 2, Role.ADMIN: 3}


@dataclass(frozen=True)
class Actor:
    """Whoever is asking: a user (by session, token or link), an integration, or
    Tocsin itself. Carried into every service call for authorisation and audit."""

    kind: str  # user | token | link | cli | integration | system
    label: str
    user_id: int | None = None
    role: Role = Role.VIEWER
    team_ids: frozenset[int] = field(default_factory=frozenset)
    token_id: int | None = None

    @property
    def is_system(self) -> bool:
        return self.kind in ("system", "integration")


SYSTEM = Actor(kind="system", label="tocsin", role=Role.ADMIN)


def holds(actor: Actor, needed: Role) -> bool:
    """Whether the actor holds `needed` or a higher role."""
    return actor.is_system or _RANK[actor.role] >= _RANK[needed]


def require_role(actor: Actor, needed: Role) -> None:
    """Raises Forbidden unless the actor holds `needed` or a higher role."""
    if not holds(actor, needed):
        raise Forbidden(f"this needs the {needed} role; you are {actor.role}")


def can_see_team(actor: Actor, team_id: int | None) -> bool:
    """Admins and Tocsin see everything; others see their teams' and unowned
    services' incidents."""
    if actor.is_system or actor.role is Role.ADMIN:
        return True
    return team_id is None or team_id in actor.team_ids
