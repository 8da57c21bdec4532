"""Intake endpoints, authenticated by integration keys."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
