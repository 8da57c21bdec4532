"""CPU per event inside Tocsin's process, without sockets or a load generator.

`python bench/inprocess.py` builds the application on a fresh SQLite database
(or `--database-url`), loads the demo data, runs the application's lifespan
(so the intake writer runs as it does in `tocsin serve`) and posts Events v2
events straight into the ASGI application from concurrent tasks on one event
loop. It reports events per second and, more useful, the process's CPU time
per event: with nothing else in the process, that is what Tocsin itself
costs. Run it with `--new-share 0` and `--new-share 1` to price a repeat and a
new key apiece, and with the default mix to see what they cost together.

It is a tool for finding where time goes (for instance under `py-spy record
-- python bench/inprocess.py`), not a substitute for bench/intake.py: HTTP
parsing and the kernel's socket work are left out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from load import Mix, Tally

from tocsin.app import create_app
from tocsin.config import Settings
from tocsin.services import demo
from tocsin.services.context import Context
from tocsin.store import migrate
from tocsin.store.db import Database

PATH = "/v2/enqueue"
Message = dict[str, Any]


class Lifespan:
    """The ASGI lifespan protocol, driven by hand: start, then shut down."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(
            self.app(scope, self.inbox.get, self.outbox.put)
        )
        await self._expect("lifespan.startup")

    async def stop(self) -> None:
        await self._expect("lifespan.shutdown")
        if self.task is not None:
            await self.task

    async def _expect(self, event: str) -> None:
        await self.inbox.put({"type": event})
        answer = await self.outbox.get()
        if answer["type"] != f"{event}.complete":
            raise RuntimeError(f"{event} failed: {answer}")


async def post(app: Any, body: bytes) -> int:
    """Post `body` to the Events v2 endpoint; the answer's status code."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    statuses: list[int] = []

    async def receive() -> Message:
        if messages:
            return messages.pop()
        # The body was read; nothing more comes, as for a client that waits.
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


async def drive(app: Any, mix: Mix, *, events: int, clients: int) -> Tally:
    tally = Tally()
    hot = [mix.body(mix.hot_key(i)) for i in range(mix.hot_keys)]
    for body in hot:
        if await post(app, body) != 202:
            raise RuntimeError("a warm-up event was refused")

    budget = events
    started = time.perf_counter()

    async def client() -> None:
        nonlocal budget
        while budget > 0:
            budget -= 1
            if random.random() < mix.new_share:
                tally.new_keys += 1
                body = mix.body(f"bench-new-{mix.run}-{tally.new_keys}")
            else:
                body = random.choice(hot)
            sent = time.perf_counter()
            status = await post(app, body)
            tally.latencies.append(time.perf_counter() - sent)
            tally.statuses[status] += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    tally.elapsed = time.perf_counter() - started
    return tally


@contextlib.contextmanager
def context(database_url: str | None) -> Iterator[tuple[Context, str]]:
    """A migrated database with the demo data; the context and the demo key."""
    with tempfile.TemporaryDirectory(prefix="tocsin-inprocess-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'tocsin.db'}"
        settings = Settings(database_url=url, secret_key="in-process-bench-" * 3)
        ctx = Context(db=Database(url), settings=settings)
        try:
            migrate.upgrade(ctx.db)
            yield ctx, demo.load(ctx).keys["events_v2"]
        finally:
            ctx.db.dispose()


async def measure(ctx: Context, key: str, args: argparse.Namespace) -> None:
    app = create_app(ctx)
    lifespan = Lifespan(app)
    await lifespan.start()
    try:
        mix = Mix(key, hot_keys=args.hot_keys, new_share=args.new_share)
        cpu = time.process_time()
        tally = await drive(app, mix, events=args.events, clients=args.clients)
        cpu = time.process_time() - cpu
    finally:
        await lifespan.stop()

    refused = tally.answered - tally.ok
    print(
        f"{tally.answered:,} events ({tally.new_keys:,} new keys, {refused} "
        f"refused), {args.clients} tasks: {tally.rate():,.0f} events/s, "
        f"{cpu / tally.answered * 1000:.3f} ms CPU per event, "
        f"p50 {tally.percentile(0.5) * 1000:.1f} ms, "
        f"p99 {tally.percentile(0.99) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--hot-keys", type=int, default=20)
    parser.add_argument("--new-share", type=float, default=0.10)
    parser.add_argument("--database-url", help="a database to use, not a temp SQLite")
    args = parser.parse_args()
    if not 0 <= args.new_share <= 1 or min(args.events, args.clients) < 1:
        parser.error("--new-share in [0, 1], --events and --clients >= 1")

    with context(args.database_url) as (ctx, key):
        asyncio.run(measure(ctx, key, args))


if __name__ == "__main__":
    main()
