"""Settings pages for triage: the severity (and impact, urgency, priority)
levels with the impact x urgency matrix, and the incident types.

Everyone logged in may read them, as through the API; only admins change
them, checked by services/triage.py. A scale or the matrix is saved through
`triage.replace_scales` with the other parts as they are stored now, so the
page applies exactly the API's rules (ranks, unique keys, a matrix that never
ranks a worse pair below a milder one, levels still in use kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.domain import triage as rules
from tocsin.domain.access import Role, holds
from tocsin.domain.triage import Level, Scale
from tocsin.errors import InvalidInput, NotFound, TocsinError
from tocsin.services import triage
from tocsin.services.context import Context
from tocsin.triage_schemas import IncidentTypeRead, TriageScalesRead
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.settings_response_common import Choice, lines, refusal_status
from tocsin.web.templating import render

router = APIRouter()

# Impact and urgency shape the matrix: a level added there would leave a row
# or column without priorities, so the page only renames and describes them.
FIXED_SHAPE = (Scale.IMPACT, Scale.URGENCY)
Fields = Annotated[list[str], Form()]


@dataclass(frozen=True)
class LevelRow:
    """One row of a scale's editor, as stored or as typed."""

    key: str
    name: str
    description: str
    examples: str
    order: str
    new: bool = False
    removed: bool = False


def _rows(scales: TriageScalesRead, scale: Scale) -> list[LevelRow]:
    rows = [
        LevelRow(
            level.key,
            level.name,
            level.description,
            level.examples,
            str(level.rank),
        )
        for level in getattr(scales, scale.value)
    ]
    if scale not in FIXED_SHAPE:
        rows.append(LevelRow("", "", "", "", str(len(rows) + 1), new=True))
    return rows


def _levels(scales: TriageScalesRead) -> dict[Scale, list[Level]]:
    return {
        scale: [Level(**level.model_dump()) for level in getattr(scales, scale.value)]
        for scale in Scale
    }


def _matrix(scales: TriageScalesRead) -> dict[tuple[str, str], str]:
    return {(cell.impact, cell.urgency): cell.priority for cell in scales.matrix}


# --- severity and priority ------------------------------------------------------


@router.get("/settings/severity")
def severity_page(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    return _severity(request, ctx, user)


@router.post("/settings/severity/levels/{scale}")
def save_levels(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    scale: Annotated[Scale, Path()],
    key: Fields,
    name: Fields,
    description: Fields,
    examples: Fields,
    order: Fields,
    remove: Fields = [],  # noqa: B006 (FastAPI copies defaults per request)
) -> Response:
    """Replace one scale's levels; the blank row adds one, `remove` drops the
    keys it names, and the order fields sort the rest (1 the worst)."""
    if not len(key) == len(name) == len(description) == len(examples) == len(order):
        raise InvalidInput("the form is incomplete; reload the page")
    # The page puts the blank row for a new level last.
    last = len(key) - 1 if scale not in FIXED_SHAPE else -1
    typed = [
        LevelRow(k, n, lines(d), lines(e), o, new=i == last, removed=k in remove)
        for i, (k, n, d, e, o) in enumerate(
            zip(key, name, description, examples, order, strict=True)
        )
    ]
    try:
        current = triage.scales(ctx)
        levels = _levels(current)
        levels[scale] = _typed_levels(scale, typed)
        triage.replace_scales(ctx, user.actor, levels, _matrix(current))
    except TocsinError as error:
        return _severity(request, ctx, user, typed={scale: typed}, error=error)
    return RedirectResponse(f"/settings/severity#scale-{scale}", status_code=303)


def _typed_levels(scale: Scale, rows: list[LevelRow]) -> list[Level]:
    """The levels the rows describe, ranked 1..n in the order typed (ties keep
    the page's order); the service checks everything else."""
    kept = []
    for index, row in enumerate(rows):
        blank = not (row.key.strip() or row.name.strip())
        if row.removed or (row.new and blank):
            continue
        try:
            order = int(row.order.strip())
        except ValueError:
            raise InvalidInput(
                f"the order of {row.key or 'the new level'} must be a whole number"
            ) from None
        kept.append((order, index, row))
    kept.sort(key=lambda item: (item[0], item[1]))

    if scale in FIXED_SHAPE and len(kept) != len(rows):
        raise InvalidInput(f"{scale} levels are renamed here, not added or removed")
    return [
        Level(
            key=row.key.strip(),
            name=row.name,
            rank=rank,
            description=row.description,
            examples=row.examples,
        )
        for rank, (_, _, row) in enumerate(kept, start=1)
    ]


@router.post("/settings/severity/matrix")
def save_matrix(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    impact: Fields,
    urgency: Fields,
    priority: Fields,
) -> Response:
    """Replace the impact x urgency matrix; the scales stay as stored."""
    typed = dict(zip(zip(impact, urgency, strict=False), priority, strict=False))
    try:
        if not len(impact) == len(urgency) == len(priority) == len(typed):
            raise InvalidInput("the matrix form is incomplete; reload the page")
        current = triage.scales(ctx)
        triage.replace_scales(ctx, user.actor, _levels(current), typed)
    except TocsinError as error:
        return _severity(request, ctx, user, grid=typed, error=error, at="matrix")
    return RedirectResponse("/settings/severity#matrix", status_code=303)


def _severity(
    request: Request,
    ctx: Context,
    user: WebUser,
    *,
    typed: dict[Scale, list[LevelRow]] | None = None,
    grid: dict[tuple[str, str], str] | None = None,
    error: TocsinError | None = None,
    at: str | None = None,
) -> Response:
    scales = triage.scales(ctx)
    editors = {scale: _rows(scales, scale) for scale in Scale}
    editors.update(typed or {})
    if typed and at is None:
        at = next(iter(typed)).value
    context: dict[str, Any] = {
        "user": user,
        "scales": scales,
        "editors": editors,
        "fixed": FIXED_SHAPE,
        "grid": grid or _matrix(scales),
        "editable": holds(user.actor, Role.ADMIN),
        "problem": error.detail if error else None,
        "problem_at": at,
        "limits": {"key": rules.MAX_KEY, "name": rules.MAX_NAME},
    }
    status = refusal_status(error) if error else 200
    return render(
        request, "settings/response_severity.html", context, status_code=status
    )


# --- incident types -------------------------------------------------------------


TYPE_FIELDS = ("key", "name", "default_severity", "description")


@router.get("/settings/incident-types")
def types_page(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    return _types(request, ctx, user, dict.fromkeys(TYPE_FIELDS, ""))


@router.post("/settings/incident-types")
def create_type(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    key: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    default_severity: Annotated[str, Form(max_length=100)] = "",
    description: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    typed = {
        "key": key,
        "name": name,
        "default_severity": default_severity,
        "description": description,
    }
    try:
        triage.create_type(
            ctx,
            user.actor,
            key=key.strip(),
            name=name,
            description=lines(description),
            default_severity=default_severity or None,
        )
    except TocsinError as error:
        return _types(request, ctx, user, typed, error)
    return RedirectResponse("/settings/incident-types", status_code=303)


@router.get("/settings/incident-types/{key}")
def type_page(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    key: Annotated[str, Path(max_length=rules.MAX_KEY)],
) -> Response:
    found = _type(ctx, key)
    typed = {
        "key": found.key,
        "name": found.name,
        "default_severity": found.default_severity or "",
        "description": found.description,
    }
    return _type_form(request, ctx, user, key, typed)


@router.post("/settings/incident-types/{key}")
def update_type(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    key: Annotated[str, Path(max_length=rules.MAX_KEY)],
    name: Annotated[str, Form(max_length=1000)] = "",
    default_severity: Annotated[str, Form(max_length=100)] = "",
    description: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    typed = {
        "key": key,
        "name": name,
        "default_severity": default_severity,
        "description": description,
    }
    try:
        triage.update_type(
            ctx,
            user.actor,
            key,
            name=name,
            description=lines(description),
            default_severity=default_severity or None,
            clear_default_severity=not default_severity,
        )
    except NotFound:
        raise
    except TocsinError as error:
        return _type_form(request, ctx, user, key, typed, error)
    return RedirectResponse("/settings/incident-types", status_code=303)


@router.post("/settings/incident-types/{key}/active")
def set_type_active(
    ctx: CtxDep,
    user: FormUserDep,
    key: Annotated[str, Path(max_length=rules.MAX_KEY)],
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Retire a type (kept on its incidents, offered no more) or bring it
    back."""
    triage.update_type(ctx, user.actor, key, active=active == "true")
    return RedirectResponse("/settings/incident-types", status_code=303)


def _type(ctx: Context, key: str) -> IncidentTypeRead:
    for found in triage.list_types(ctx):
        if found.key == key:
            return found
    raise NotFound(f"no incident type {key!r}")


def _severities(ctx: Context) -> list[Choice]:
    return [Choice(level.key, level.name) for level in triage.scales(ctx).severity]


def _types(
    request: Request,
    ctx: Context,
    user: WebUser,
    typed: dict[str, str],
    error: TocsinError | None = None,
) -> Response:
    context = {
        "user": user,
        "types": triage.list_types(ctx),
        "severities": _severities(ctx),
        "typed": typed,
        "editable": holds(user.actor, Role.ADMIN),
        "problem": error.detail if error else None,
        "max_key": rules.MAX_KEY,
        "max_name": triage.MAX_TYPE_NAME,
    }
    status = refusal_status(error) if error else 200
    return render(request, "settings/response_types.html", context, status_code=status)


def _type_form(
    request: Request,
    ctx: Context,
    user: WebUser,
    key: str,
    typed: dict[str, str],
    error: TocsinError | None = None,
) -> Response:
    context = {
        "user": user,
        "found": _type(ctx, key),
        "severities": _severities(ctx),
        "typed": typed,
        "editable": holds(user.actor, Role.ADMIN),
        "problem": error.detail if error else None,
        "max_name": triage.MAX_TYPE_NAME,
    }
    status = refusal_status(error) if error else 200
    return render(request, "settings/response_type.html", context, status_code=status)
