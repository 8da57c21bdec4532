"""The settings index: one card per settings area the user's role may open.

An area (people and teams, severity and response, the audit log) appends its
`SettingsSection` to SECTIONS where its router is defined, as areas do with
the main navigation, so this page needs no edit when one is added.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.domain.access import Role, holds
from tocsin.web.auth import UserDep
from tocsin.web.navigation import NAVIGATION, NavItem
from tocsin.web.templating import render

router = APIRouter()
NAVIGATION.append(NavItem("Settings", "/settings", order=90))


@dataclass(frozen=True)
class SettingsSection:
    label: str
    url: str
    description: str
    role: Role


SECTIONS: list[SettingsSection] = []


@router.get("/settings")
def settings_index(request: Request, user: UserDep) -> Response:
    """The areas this user may open; a viewer sees an empty, explained page."""
    allowed = [s for s in SECTIONS if holds(user.actor, s.role)]
    return render(request, "settings/index.html", {"user": user, "sections": allowed})
