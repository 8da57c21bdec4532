"""The web pages' router and the error page every HTML error is shown with."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tocsin.web import (
    accounts,
    action_links,
    audit_log,
    escalation_pages,
    home,
    incident_response,
    incidents,
    live,
    login,
    oidc,
    profile_paging,
    service_integrations,
    settings,
    settings_people,
    settings_response,
    status_admin,
)
from tocsin.web.ai import router as ai_router
from tocsin.web.auth import is_htmx
from tocsin.web.declare import router as declare_router
from tocsin.web.insights import router as insights_router
from tocsin.web.postmortems import router as postmortems_router
from tocsin.web.reports import router as reports_router
from tocsin.web.schedules import router as schedules_router
from tocsin.web.services_pages import router as services_router
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(login.router)
router.include_router(accounts.router)
router.include_router(profile_paging.router)
router.include_router(home.router)
router.include_router(incidents.router)
router.include_router(live.router)
router.include_router(action_links.router)
router.include_router(reports_router)
router.include_router(schedules_router)
router.include_router(services_router)
router.include_router(service_integrations.router)
router.include_router(declare_router)
router.include_router(ai_router)
router.include_router(postmortems_router)
router.include_router(insights_router)
router.include_router(incident_response.router)
router.include_router(escalation_pages.router)
router.include_router(status_admin.router)
router.include_router(oidc.router)
router.include_router(settings.router)
router.include_router(settings_people.router)
router.include_router(settings_response.router)
router.include_router(audit_log.router)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    """An HTML page for an error a browser asked for; the app's handlers call it.

    For htmx, only the message, aimed at the page's #flash region: swapping a
    whole error page into a button's place would break the page around it.
    """
    context = {"status": status, "title": title, "detail": detail}
    if is_htmx(request):
        headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        return render(
            request, "flash.html", context, status_code=status, headers=headers
        )
    return render(request, "error.html", context, status_code=status)
