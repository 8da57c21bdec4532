"""API routes under /api/v1, authenticated by bearer tokens."""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.api import incidents, users
from tocsin.api.ai import router as ai_router
from tocsin.api.calendars import router as calendars_router
from tocsin.api.contacts import router as contacts_router
from tocsin.api.insights import router as insights_router
from tocsin.api.maintenance import router as maintenance_router
from tocsin.api.policies import router as policies_router
from tocsin.api.postmortems import router as postmortems_router
from tocsin.api.report_suggestions import router as report_suggestions_router
from tocsin.api.reports import router as reports_router
from tocsin.api.response import router as response_router
from tocsin.api.response_catalog import router as response_catalog_router
from tocsin.api.schedules import feeds_router
from tocsin.api.schedules import router as schedules_router
from tocsin.api.signals import router as signals_router
from tocsin.api.status_page import router as status_page_router
from tocsin.api.triage import router as triage_router

router = APIRouter(prefix="/api/v1")
router.include_router(status_page_router)
router.include_router(incidents.router)
router.include_router(users.router)
router.include_router(response_router)
router.include_router(response_catalog_router)
router.include_router(triage_router)
router.include_router(reports_router)
router.include_router(report_suggestions_router)
router.include_router(contacts_router)
router.include_router(signals_router)
router.include_router(schedules_router)
router.include_router(feeds_router)
router.include_router(calendars_router)
router.include_router(policies_router)
router.include_router(maintenance_router)
router.include_router(postmortems_router)
router.include_router(ai_router)
router.include_router(insights_router)
