"""`serve`, `worker`, `db upgrade` and `demo load`."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import typer
import uvicorn
from alembic.util import CommandError

from tocsin.app import create_app
from tocsin.cli.common import (
    check_schema,
    console,
    context,
    ensure_sqlite_folder,
    schema_revision,
)
from tocsin.engine.worker import Worker
from tocsin.errors import InvalidInput
from tocsin.logs import configure
from tocsin.services import demo, demo_year
from tocsin.store import migrate

log = logging.getLogger(__name__)

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(worker)
    app.add_typer(db_app, name="db")
    app.add_typer(demo_app, name="demo")


def serve(
    host: str = typer.Option(None, help="Address to bind (default TOCSIN_HOST)."),
    port: int = typer.Option(
        None, min=1, max=65535, help="Port to bind (default TOCSIN_PORT)."
    ),
    no_worker: bool = typer.Option(
        False, "--no-worker", help="Serve only; run `tocsin worker` elsewhere."
    ),
    upgrade: bool = typer.Option(
        False, "--upgrade", help="Migrate the database before serving."
    ),
    demo_data: bool = typer.Option(
        False, "--demo", help="Load demo data and print its keys before serving."
    ),
) -> None:
    """Serve the API, intake and web pages (and the worker, unless --no-worker)."""
    ctx = context(migrated=False, signs_links=True)
    configure(ctx.settings)
    if upgrade:
        ensure_sqlite_folder(ctx.db)
        schema_revision(ctx.db)
        migrate.upgrade(ctx.db)
    check_schema(ctx.db)
    if demo_data:
        _print_demo(demo.load(ctx), ctx.settings.base_url)

    app = create_app(ctx, run_worker=not no_worker)
    uvicorn.run(
        app,
        host=host or ctx.settings.host,
        port=port or ctx.settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        # A client that stalls mid-request must not hold a shutdown for ever;
        # requests still running after this are cut, their writes not answered.
        timeout_graceful_shutdown=10,
    )


def worker() -> None:
    """Run the worker alone: escalations and page delivery.

    SIGTERM or Ctrl-C lets the pass under way finish (a page being sent is not
    sent twice), then the worker stops; a second one stops it at once."""
    ctx = context(signs_links=True)
    configure(ctx.settings)
    stop = threading.Event()

    def finish(signum: int, frame: FrameType | None) -> None:
        log.info("worker stopping", extra={"signal": signal.Signals(signum).name})
        for each in (signal.SIGTERM, signal.SIGINT):
            signal.signal(each, signal.SIG_DFL)
        stop.set()
        ctx.work_queued.set()

    # The worker runs in a thread so that the handler, which runs in the main
    # thread, never interrupts it while it holds one of the events' locks.
    thread = threading.Thread(
        target=Worker(ctx).run_forever, args=(stop,), name="tocsin-worker"
    )
    for each in (signal.SIGTERM, signal.SIGINT):
        signal.signal(each, finish)
    thread.start()
    thread.join()
    ctx.db.dispose()


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Revision to reach, or head."),
) -> None:
    """Migrate the database schema (to the newest revision by default)."""
    ctx = context(migrated=False)
    ensure_sqlite_folder(ctx.db)
    current = schema_revision(ctx.db)
    try:
        if migrate.is_downgrade(ctx.db, revision, current):
            raise InvalidInput(
                f"{revision} is below the database's revision {current or 'base'}: "
                "going down is a downgrade, which `tocsin db upgrade` does not do"
            )
        migrate.upgrade(ctx.db, revision)
    except CommandError as error:
        raise InvalidInput(str(error)) from error

    reached = migrate.current(ctx.db) or "base"
    head = " (head)" if reached == migrate.head(ctx.db) else ""
    ctx.db.dispose()
    console.print(f"database at {reached}{head}", highlight=False)


@demo_app.command("load")
def demo_load(
    year: bool = typer.Option(
        False, "--year", help="Also generate a year of incidents for insights."
    ),
) -> None:
    """Load the demo team, users, service and integration keys."""
    ctx = context(signs_links=True)
    data = demo.load(ctx)
    _print_demo(data, ctx.settings.base_url)
    if year:
        made = demo_year.load_year(ctx)
        console.print(
            "a demo year was already loaded"
            if made.already
            else f"generated a year of demo incidents: {made.incidents}",
            highlight=False,
        )


def _print_demo(data: demo.DemoData, base_url: str) -> None:
    base = base_url.rstrip("/")
    console.print(f"[bold]Demo service[/bold] {data.service}")
    for email, password in data.users:
        console.print(f"  login  {email} / {password}")
    for kind, key in data.keys.items():
        console.print(f"  {kind:<13} key {key}")
    for kind in data.rotated:
        console.print(f"  {kind:<13} key rotated (shown once, when it was rotated)")
    console.print(f"  web    {base}/")
