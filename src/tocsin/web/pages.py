"""The web pages' router and the error page every HTML error is shown with."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tocsin.web import action_links, incidents, login
from tocsin.web.auth import HOME
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(login.router)
router.include_router(incidents.router)
router.include_router(action_links.router)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    """An HTML page for an error a browser asked for; the app's handlers call it."""
    context = {"status": status, "title": title, "detail": detail}
    return render(request, "error.html", context, status_code=status)
