"""API routes under /api/v1, authenticated by bearer tokens."""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.api import incidents, users
from tocsin.api.contacts import router as contacts_router

router = APIRouter(prefix="/api/v1")
router.include_router(incidents.router)
router.include_router(users.router)
router.include_router(contacts_router)
