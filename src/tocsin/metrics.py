"""`GET /metrics`: Prometheus gauges read from the database at scrape time.

Every figure comes from the database when Prometheus scrapes, not from
counters kept in a process, so any `serve` process answers for the whole
installation (several processes need no prometheus-client multiprocess mode)
and a restart loses nothing.

The endpoint wants `Authorization: Bearer <token>`, where the token is
`TOCSIN_METRICS_TOKEN` or an API token of an admin; with neither it answers
401, as the figures describe the organisation's paging.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from tocsin.api.deps import CtxDep
from tocsin.domain.access import SYSTEM, Role
from tocsin.errors import Forbidden, Unauthenticated
from tocsin.services import misconfig, users
from tocsin.services.context import Context
from tocsin.store.models import Incident, OutboxMessage, Timer

router = APIRouter(include_in_schema=False)
_bearer = HTTPBearer(auto_error=False)

# A timer this far past due means no worker is keeping up (or none runs).
OVERDUE = timedelta(minutes=1)


class TocsinCollector(Collector):
    """Collects the gauges from the database each time it is asked."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[GaugeMetricFamily]:
        report = misconfig.check(self.ctx, SYSTEM)
        problems = GaugeMetricFamily(
            "tocsin_misconfigurations",
            "Things that would make a page reach nobody, by kind (see `tocsin check`).",
            labels=["kind"],
        )
        for kind, count in report.counts.items():
            problems.add_metric([kind], count)
        yield problems

        now = self.ctx.clock.now()
        with self.ctx.db.read() as session:
            by_status = dict(
                session.execute(
                    select(Incident.status, func.count())
                    .where(Incident.status != "resolved")
                    .group_by(Incident.status)
                ).all()
            )
            outbox = dict(
                session.execute(
                    select(OutboxMessage.status, func.count())
                    .where(OutboxMessage.status.in_(("pending", "failed")))
                    .group_by(OutboxMessage.status)
                ).all()
            )
            overdue = session.scalar(
                select(func.count()).where(Timer.due_at < now - OVERDUE)
            )

        incidents = GaugeMetricFamily(
            "tocsin_open_incidents",
            "Incidents not resolved, by status.",
            labels=["status"],
        )
        for status in ("triggered", "acknowledged"):
            incidents.add_metric([status], by_status.get(status, 0))
        yield incidents

        messages = GaugeMetricFamily(
            "tocsin_outbox_messages",
            "Outgoing messages waiting to be sent, or given up on.",
            labels=["status"],
        )
        for status in ("pending", "failed"):
            messages.add_metric([status], outbox.get(status, 0))
        yield messages

        yield GaugeMetricFamily(
            "tocsin_overdue_timers",
            "Timers (escalation steps and others) more than a minute past due.",
            value=overdue or 0,
        )


def _authorised(
    ctx: CtxDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated(
            "send TOCSIN_METRICS_TOKEN or an admin's API token as a bearer token"
        )

    configured = ctx.settings.metrics_token
    given = credentials.credentials
    if configured and hmac.compare_digest(configured.encode(), given.encode()):
        return
    actor = users.authenticate_token(ctx, given)
    if actor.role is not Role.ADMIN:
        raise Forbidden("metrics need TOCSIN_METRICS_TOKEN or an admin's API token")


@router.get("/metrics", dependencies=[Depends(_authorised)])
def metrics(ctx: CtxDep) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TocsinCollector(ctx))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
