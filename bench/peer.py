"""Peers to measure Tocsin against, on the same HTTP stack (uvicorn, Starlette).

- `sqlite`: the least durable work an intake can do per event and still keep
  it: parse the JSON, then `INSERT OR IGNORE` the dedup key into SQLite (WAL,
  `synchronous=FULL`, `BEGIN IMMEDIATE`) and commit, on a thread of the pool,
  one transaction per event. A duplicate inserts nothing, so, as in Tocsin,
  only new keys cost a durable commit.
- `bare`: parse the JSON and answer 202. The ceiling of the stack and of the
  load generator on this machine.

Run: `python bench/peer.py sqlite --port 8101 --db /tmp/peer.db`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    routing_key TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (routing_key, dedup_key)
)
"""


class Store:
    """One SQLite connection per thread, each committing on its own."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._connection().execute(SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            self._local.conn = connection
        return connection

    def keep(self, routing_key: str, dedup_key: str, body: bytes) -> None:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(
                "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?)",
                (routing_key, dedup_key, body.decode()),
            )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


def _parse(body: bytes) -> tuple[str, str] | None:
    try:
        event = json.loads(body)
        return str(event["routing_key"]), str(event["dedup_key"])
    except (ValueError, KeyError, TypeError):
        return None


def build(kind: str, db_path: str | None) -> Starlette:
    store = Store(db_path) if kind == "sqlite" and db_path else None
    if kind == "sqlite" and store is None:
        raise SystemExit("the sqlite peer needs --db")

    async def enqueue(request: Request) -> JSONResponse:
        body = await request.body()
        keys = _parse(body)
        if keys is None:
            return JSONResponse({"status": "invalid event"}, status_code=400)
        if store is not None:
            await run_in_threadpool(store.keep, keys[0], keys[1], body)
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": keys[1]},
            status_code=202,
        )

    async def ready(request: Request) -> JSONResponse:
        return JSONResponse({"ready": True})

    return Starlette(
        routes=[
            Route("/v2/enqueue", enqueue, methods=["POST"]),
            Route("/ready", ready),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["sqlite", "bare"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", help="SQLite file (sqlite peer)")
    args = parser.parse_args()

    uvicorn.run(
        build(args.kind, args.db),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
