"""Demo data for `make run`: a team, two users, a policy, a service, its keys.

Loading twice is harmless. The integration keys are derived from the instance's
secret key, so a restart prints the same keys without storing them in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select

from tocsin.domain.access import SYSTEM
from tocsin.services import integrations, users
from tocsin.services.context import Context
from tocsin.store.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Integration,
    Service,
    Team,
    User,
)

SERVICE = "checkout-api"
TEAM = "Platform"
PASSWORD = "tocsin-demo"  # noqa: S105 -- the documented demo login
PEOPLE = (
    ("alice@example.com", "Alice Admin", "admin"),
    ("bob@example.com", "Bob Responder", "responder"),
)


@dataclass(frozen=True)
class DemoData:
    service: str
    users: tuple[tuple[str, str], ...]
    keys: dict[str, str]
    # Demo integrations whose key was rotated away from the derived one.
    rotated: tuple[str, ...] = ()


def demo_key(ctx: Context, kind: str) -> str:
    secret = ctx.settings.effective_secret_key().encode()
    return hmac.new(secret, f"demo-{kind}".encode(), hashlib.sha256).hexdigest()[:32]


def load(ctx: Context) -> DemoData:
    with ctx.db.read() as session:
        exists = session.scalar(select(Service.id).where(Service.name == SERVICE))

    if exists is None:
        _create(ctx)

    keys = {kind: demo_key(ctx, kind) for kind in integrations.KINDS}
    with ctx.db.read() as session:
        rows = session.execute(
            select(Integration.name, Integration.key_hash)
            .join(Service, Integration.service_id == Service.id)
            .where(Service.name == SERVICE)
        )
        # Not dict(rows): a Result has keys() and would be read as a mapping.
        stored = dict(rows.all())

    rotated = []
    for kind, key in keys.items():
        name = f"demo {kind}"
        if name not in stored:
            integrations.create(ctx, SERVICE, kind, name=name, key=key)
        elif stored[name] != integrations.hash_key(key):
            # Someone rotated it, perhaps because it leaked: never bring the
            # derived key back, and do not print a key that no longer works.
            rotated.append(kind)

    return DemoData(
        service=SERVICE,
        users=tuple((email, PASSWORD) for email, _, _ in PEOPLE),
        keys={kind: key for kind, key in keys.items() if kind not in rotated},
        rotated=tuple(rotated),
    )


def _create(ctx: Context) -> None:
    for email, name, role in PEOPLE:
        with ctx.db.read() as session:
            known = session.scalar(select(User.id).where(User.email == email))
        if known is None:
            users.create_user(
                ctx,
                SYSTEM,
                email=email,
                name=name,
                role=role,
                password=PASSWORD,
                teams=(TEAM,),
                create_teams=True,
            )

    now = ctx.clock.now()
    with ctx.db.write() as session:
        team = session.scalar(select(Team).where(Team.name == TEAM))
        people = {
            user.email: user
            for user in session.scalars(
                select(User).where(User.email.in_([p[0] for p in PEOPLE]))
            )
        }
        policy = EscalationPolicy(
            name=f"{TEAM} default",
            team_id=team.id if team else None,
            repeat=1,
            created_at=now,
        )
        policy.steps = [
            EscalationStep(
                position=0,
                delay_minutes=5,
                targets=[EscalationTarget(user_id=people[PEOPLE[0][0]].id)],
            ),
            EscalationStep(
                position=1,
                delay_minutes=10,
                targets=[EscalationTarget(user_id=people[PEOPLE[1][0]].id)],
            ),
        ]
        session.add(policy)
        session.flush()
        session.add(
            Service(
                name=SERVICE,
                description="The demo service: payments at checkout.",
                team_id=team.id if team else None,
                escalation_policy_id=policy.id,
                created_at=now,
            )
        )
