"""`tocsin ai ...`: train and evaluate the triage model, see what it suggests
for a text, an incident's similar past incidents, and how suggestions fare.

Commands act as the operator unless `--as EMAIL` names a user.
"""

from __future__ import annotations

import typer
from rich.progress import Progress
from rich.table import Table

from tocsin.ai.features import FIELDS, IncidentFacts
from tocsin.ai.model import Scores
from tocsin.api.schemas import MAX_ID
from tocsin.cli.common import console, opened, plain, reported
from tocsin.cli.people import OPERATOR
from tocsin.domain.access import Actor
from tocsin.errors import InvalidInput
from tocsin.services import drafts, similar_incidents, suggestions, users
from tocsin.services.context import Context

ai_app = typer.Typer(help="Offline triage suggestions.", no_args_is_help=True)

_AS_HELP = "Act as this user, with their role and teams (default: the operator)."


def register(app: typer.Typer) -> None:
    app.add_typer(ai_app, name="ai")


def _actor(ctx: Context, email: str | None) -> Actor:
    return OPERATOR if email is None else users.act_as(ctx, email)


@ai_app.command("train")
def train(
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Train the model now on the resolved incidents (and the bundled synthetic
    set while there are fewer than TOCSIN_AI_MIN_HISTORY); it is used at once."""
    with reported(), opened() as ctx, Progress(console=console) as progress:
        task = progress.add_task("training", total=len(FIELDS))

        def advance(field: str) -> None:
            progress.update(task, description=f"training {field}", advance=1)

        trained = suggestions.train(ctx, _actor(ctx, as_email), advance)
        progress.update(task, completed=len(FIELDS), description="trained")

    console.print(
        f"model {trained.id}: {trained.source}, {trained.examples} examples "
        f"({trained.history} resolved incidents), fields: "
        f"{', '.join(trained.fields) or 'none (the rules answer)'}",
        highlight=False,
    )


@ai_app.command("evaluate")
def evaluate(
    field: str = typer.Option("severity", "--field", help=", ".join(FIELDS)),
    seed: int = typer.Option(11, "--seed", help="Seed of the held-out split."),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Train on three quarters of the history (or of the synthetic set while
    the history is small) and print accuracy, macro-F1 and the confusion
    matrix of the model and of the rules on the held-out quarter."""
    with reported(), opened() as ctx:
        result, source = suggestions.evaluate(
            ctx, _actor(ctx, as_email), field, seed=seed
        )

    console.print(
        f"{field} on {source} data: trained on {result.trained_on}, "
        f"held out {result.model.count}",
        highlight=False,
    )
    _scores("model", result.model)
    _scores("rules", result.rules)


def _scores(name: str, scores: Scores) -> None:
    console.print(
        f"{name}: accuracy {scores.accuracy:.3f}, macro-F1 {scores.macro_f1:.3f}",
        highlight=False,
    )
    table = Table(title=f"{name} (rows: answers)")
    table.add_column("")
    for label in scores.labels:
        table.add_column(label, justify="right")
    for label, row in zip(scores.labels, scores.confusion, strict=True):
        table.add_row(label, *(str(count) for count in row))
    console.print(table)


@ai_app.command("suggest")
def suggest(
    title: str = typer.Option(..., "--title", help="The incident's title."),
    description: str = typer.Option("", "--description", help="More detail."),
    service: str = typer.Option("", "--service", help="The service it came in on."),
) -> None:
    """What would be suggested for a text: value, confidence, source, reasons."""
    with reported(), opened() as ctx:
        if not title.strip():
            raise InvalidInput("the title cannot be empty")
        facts = IncidentFacts(title, description, service=service, source="manual")
        with ctx.db.read() as session:
            found, _ = suggestions.suggest(ctx, session, facts)

    for item in found.values():
        console.print(
            plain(
                f"{item.field}: {item.value} ({item.confidence:.0%}, {item.source})"
                f" because {'; '.join(item.reasons) or 'no reason given'}"
            )
        )


@ai_app.command("similar")
def similar(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help="Incident number."),
    limit: int = typer.Option(5, "--limit", min=1, max=20),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """The resolved incidents most like this one, with their resolution notes
    and postmortems."""
    with reported(), opened() as ctx:
        found = similar_incidents.similar(
            ctx, _actor(ctx, as_email), number, limit=limit
        )

    if not found:
        console.print("no similar resolved incident")
    for item in found:
        console.print(
            plain(
                f"#{item.number} {item.score:.2f} {item.severity} {item.service}: "
                f"{item.title}"
            )
        )
        for note in item.notes:
            console.print(plain(f"    note: {note}"))
        for postmortem in item.postmortems:
            console.print(plain(f"    postmortem: {postmortem}"))


@ai_app.command("report")
def report(
    weeks: int = typer.Option(12, "--weeks", min=1, max=520),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Where suggestions come from now (the rules, the synthetic set or the
    history, when trained and on how many examples), then per week and field:
    suggestions made, accept rate, and accuracy against the final value of
    resolved incidents (for the owning service, the person's decision; one
    left undecided is not judged)."""
    with reported(), opened() as ctx:
        rows = suggestions.report(ctx, _actor(ctx, as_email), weeks=weeks)
        model = suggestions.current(ctx)

    console.print(
        plain(f"suggestions come from {suggestions.describe(model)}"), soft_wrap=True
    )
    table = Table()
    for column in ("week", "field", "suggested", "accept rate", "accuracy"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.week,
            row.field,
            str(row.suggested),
            _percent(row.accept_rate, row.decided),
            _percent(row.accuracy, row.judged),
        )
    console.print(table)


def _percent(rate: float | None, count: int) -> str:
    return "-" if rate is None else f"{rate:.0%} of {count}"


@ai_app.command("draft")
def draft(
    number: int = typer.Argument(..., min=1, max=MAX_ID, help="Incident number."),
    kind: str = typer.Option("update", "--kind", help="update, summary, postmortem."),
    as_email: str | None = typer.Option(None, "--as", metavar="EMAIL", help=_AS_HELP),
) -> None:
    """Print a draft to edit and post: from the templates, or from the
    configured OpenAI-compatible endpoint when it answers."""
    with reported(), opened() as ctx:
        written = drafts.write(ctx, _actor(ctx, as_email), number, kind)

    # Printed as written, never wrapped at the terminal's width: it is pasted.
    console.print(plain(written.text), soft_wrap=True)
    note = f"({written.source}"
    if written.fallback_reason:
        note += f"; endpoint not used: {written.fallback_reason}"
    console.print(plain(note + ")"), style="dim")
