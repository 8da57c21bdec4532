"""Web pages: incident_response."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
