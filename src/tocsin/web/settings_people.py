"""Web pages: settings_people."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
