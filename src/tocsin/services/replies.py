"""Acting on an incident by replying to a page: an SMS "ack 12", a Slack button.

The replying person is known only by the contact method the reply came from
(a phone number, a Slack member id); the adapter has already checked the
provider's signature, so that address is trustworthy. The action then runs as
that person, with their role and teams, exactly as if they used the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from tocsin.errors import TocsinError
from tocsin.services import incidents, users
from tocsin.services.context import Context
from tocsin.store.models import ContactMethod, User

_COMMAND = re.compile(
    r"^\s*(?P<verb>ack|acknowledge|resolve)\s*#?\s*(?P<number>[0-9]{1,9})\s*[.!]?\s*$",
    re.IGNORECASE,
)
HELP = "Reply 'ack N' to acknowledge incident #N, or 'resolve N' to resolve it."


@dataclass(frozen=True)
class Command:
    action: str  # acknowledge | resolve
    number: int


def parse(text: str) -> Command | None:
    """`ack 12`, `ACK #12`, `acknowledge 12`, `resolve 12`; None otherwise."""
    match = _COMMAND.match(text[:200])
    if match is None:
        return None
    verb = match["verb"].lower()
    action = "resolve" if verb == "resolve" else "acknowledge"
    return Command(action, int(match["number"]))


def act(ctx: Context, *, kind: str, address: str, command: Command) -> str:
    """Carry out `command` as the one active user with this contact method.

    Returns the sentence to answer the reply with; never raises a TocsinError,
    since the answer goes back to a phone or a chat, not to an API client."""
    with ctx.db.read() as session:
        owners = session.scalars(
            select(User)
            .join(ContactMethod, ContactMethod.user_id == User.id)
            .where(
                ContactMethod.kind == kind,
                ContactMethod.address == address,
                User.active,
            )
            .distinct()
        ).all()
        if not owners:
            return (
                f"This {kind} address is not a contact method of any Tocsin user; "
                "add it to your profile first."
            )
        if len(owners) > 1:
            return f"This {kind} address belongs to several users; act in Tocsin."
        actor = users.actor_for(session, owners[0], kind=kind)

    try:
        if command.action == "resolve":
            incidents.resolve(ctx, actor, command.number)
            return f"Resolved #{command.number}."
        read = incidents.acknowledge(ctx, actor, command.number)
    except TocsinError as error:
        return f"Could not {command.action} #{command.number}: {error.detail}"
    return f"Acknowledged #{command.number} ({read.title[:80]})."
