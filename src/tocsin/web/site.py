"""Wiring the web layer into the application: static files, headers, login."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tocsin.web.auth import LoginRequired, redirect_to_login
from tocsin.web.security import SecurityHeaders
from tocsin.web.templating import STATIC_DIR


def install(app: FastAPI) -> None:
    """Mount /static, send security headers on every response, and turn
    LoginRequired into a redirect to the login page."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(LoginRequired, redirect_to_login)
    app.add_middleware(SecurityHeaders)
