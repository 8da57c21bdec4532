"""Web pages."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter()


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    body = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
    body += f"<p>{escape(detail)}</p>"
    return HTMLResponse(body, status_code=status)
