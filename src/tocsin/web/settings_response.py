"""Web pages: settings_response."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
