"""Request and response bodies of the API, named by direction.

Read models shared with the services live in `tocsin.schemas` and are re-exported
here, so a route module imports every body it declares from one place.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tocsin.domain.triage import MAX_KEY
from tocsin.schemas import (
    IncidentDetail,
    IncidentPage,
    IncidentRead,
    MeRead,
)
from tocsin.services.incidents import MAX_NOTE, MAX_REOPEN_REASON

__all__ = [
    "MAX_ID",
    "IncidentDetail",
    "IncidentPage",
    "IncidentRead",
    "MeRead",
    "NoteCreate",
    "Problem",
    "ProblemFieldError",
    "ReassignCreate",
    "ReopenCreate",
    "Severity",
]

# Ids and incident numbers are 32-bit columns on PostgreSQL; a larger number can
# name nothing, and refusing it here keeps it away from the driver.
MAX_ID = 2**31 - 1

# A severity level's key. The levels are configured (sev1-sev4 by default), so a
# key that names no level is not an error here: it matches no incident.
Severity = Annotated[
    str, Field(min_length=1, max_length=MAX_KEY, pattern=r"^[a-z][a-z0-9_-]*$")
]


class _Create(BaseModel):
    # A misspelt field is an error, not something silently ignored.
    model_config = ConfigDict(extra="forbid")


class NoteCreate(_Create):
    text: str = Field(
        min_length=1,
        max_length=MAX_NOTE,
        description="The note, added to the timeline as written.",
        examples=["Rolled back the 14:02 deploy; error rate falling."],
    )
    tag: Literal["diagnostic_step", "finding", "decision", "action"] | None = Field(
        default=None, description="What kind of note it is (optional)."
    )


class ReassignCreate(_Create):
    user_id: int = Field(
        ge=1, le=MAX_ID, description="The active user who takes the incident."
    )


class ReopenCreate(_Create):
    reason: str = Field(
        default="",
        max_length=MAX_REOPEN_REASON,
        description="Why the incident is back (optional); shown on its timeline.",
        examples=["Customers report checkout errors again."],
    )


class ProblemFieldError(BaseModel):
    location: str = Field(description="Where the bad value is, as `query.limit`.")
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str | None = Field(
        default=None, description="The path of the request that failed."
    )
    errors: list[ProblemFieldError] | None = Field(
        default=None, description="Every invalid value, on validation errors."
    )
