"""The peer for bench/page_latency.py: the least a durable pager can do between
an alert arriving over HTTP and its page leaving by SMTP.

On `POST /v2/enqueue` it parses the JSON and, in one SQLite transaction (WAL,
`synchronous=FULL`, `BEGIN IMMEDIATE`), records the alert (an upsert on its
dedup key) and, for a key it has not seen, an outbox row with the page; it
commits, answers 202 and wakes one sender thread, which mails every pending
row through the SMTP server with smtplib and marks it sent. Nothing else: no
incidents, timeline, escalation, rendering of links or audit.

Run: `python bench/page_peer.py --port 8102 --db /tmp/pager.db --smtp-port 1025`.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import sqlite3
import threading
from email.message import EmailMessage

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
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
);
"""


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Pager:
    def __init__(self, path: str, smtp_port: int) -> None:
        self.path = path
        self.smtp_port = smtp_port
        self.local = threading.local()
        self.wake = threading.Event()
        connect(path).executescript(SCHEMA)
        threading.Thread(target=self._send_forever, daemon=True).start()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = connect(self.path)
        return conn

    def record(self, key: str, dedup: str, summary: str, body: str) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            new = (
                conn.execute(
                    "SELECT 1 FROM alerts WHERE routing_key = ? AND dedup_key = ?",
                    (key, dedup),
                ).fetchone()
                is None
            )
            conn.execute(
                "INSERT INTO alerts VALUES (?, ?, ?) ON CONFLICT DO UPDATE "
                "SET body = excluded.body",
                (key, dedup, body),
            )
            if new:
                conn.execute("INSERT INTO outbox (subject) VALUES (?)", (summary,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if new:
            self.wake.set()

    def _send_forever(self) -> None:
        conn = connect(self.path)
        while True:
            self.wake.wait(1.0)
            self.wake.clear()
            rows = conn.execute(
                "SELECT id, subject FROM outbox WHERE sent = 0 ORDER BY id"
            ).fetchall()
            for row_id, subject in rows:
                message = EmailMessage()
                message["From"] = "pager@localhost"
                message["To"] = "oncall@example.com"
                message["Subject"] = subject
                message.set_content(subject)
                with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
                    smtp.send_message(message)
                conn.execute("UPDATE outbox SET sent = 1 WHERE id = ?", (row_id,))


def app(pager: Pager) -> Starlette:
    async def enqueue(request: Request) -> JSONResponse:
        body = await request.body()
        event = json.loads(body)
        summary = str(event.get("payload", {}).get("summary", ""))
        await run_in_threadpool(
            pager.record,
            str(event["routing_key"]),
            str(event["dedup_key"]),
            summary,
            body.decode(),
        )
        return JSONResponse({"status": "success"}, status_code=202)

    async def ready(request: Request) -> JSONResponse:
        return JSONResponse({})

    return Starlette(
        routes=[
            Route("/v2/enqueue", enqueue, methods=["POST"]),
            Route("/ready", ready),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app(Pager(args.db, args.smtp_port)),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
