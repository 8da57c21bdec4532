"""Page latency: the time from an alert's HTTP POST to its page arriving at a
mail server, while other alerts keep arriving, against a peer run the same way.

`python bench/page_latency.py` starts an aiosmtpd receiver in this process,
then `tocsin serve --upgrade --demo` (worker included) on a fresh SQLite
database in a temporary directory, sending its mail to the receiver. Probes
are Events v2 triggers with new dedup keys, each opening an incident whose
policy pages Alice at once; the latency of a probe is from just before its
POST to the receiver accepting the page (one clock, this process's
`perf_counter`). Meanwhile background clients send changed repeats of a few
hot keys at `--load` events per second: writes that page nobody.

The peer (`bench/page_peer.py`) is the least a durable pager can do: upsert
the alert, queue the page in the same SQLite commit, and mail it from a
thread. The same probes and the same background load go to it.

Everything runs on 127.0.0.1; a run is bounded by --probes and --interval.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from intake import child, free_port, tocsin_env

HERE = Path(__file__).resolve().parent
PROBE = re.compile(r"latency probe (\d+)")
MAX_PROBES = 5000


class Receiver:
    """An SMTP server that notes when each probe's page arrives."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrived: dict[int, float] = {}
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: note the probe number in the subject, say 250."""
        now = time.perf_counter()
        head = envelope.content.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
        found = PROBE.search(head)
        if found is not None:
            with self.lock:
                self.arrived.setdefault(int(found.group(1)), now)
        return "250 OK"

    def reset(self) -> None:
        with self.lock:
            self.arrived.clear()


@dataclass
class Run:
    name: str
    sent: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    background: int = 0
    background_seconds: float = 0.0
    lost: int = 0
    # Tocsin only, from its database: seconds from the page's outbox row to
    # its being marked sent, and of those, the SMTP conversation.
    queued_to_sent: list[float] = field(default_factory=list)
    smtp: list[float] = field(default_factory=list)


def where_time_goes(database: Path, run: Run) -> None:
    """Fill in the worker's share of each probe's latency from Tocsin's rows."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        rows = conn.execute(
            "SELECT o.created_at, o.sent_at, a.duration_ms FROM outbox_messages o "
            "JOIN delivery_attempts a ON a.message_id = o.id AND a.ok "
            "JOIN incidents i ON i.id = o.incident_id "
            "WHERE i.title LIKE 'latency probe %' AND o.sent_at IS NOT NULL"
        ).fetchall()
    for created, sent, smtp_ms in rows:
        gap = datetime.fromisoformat(sent) - datetime.fromisoformat(created)
        run.queued_to_sent.append(gap.total_seconds())
        run.smtp.append(smtp_ms / 1000)
    run.queued_to_sent.sort()
    run.smtp.sort()


@contextlib.contextmanager
def started_tocsin(
    workdir: Path, smtp_port: int, poll: float
) -> Iterator[tuple[str, str]]:
    port = free_port()
    env = tocsin_env(f"sqlite:///{workdir / 'tocsin.db'}", port)
    env["TOCSIN_WORKER_POLL_SECONDS"] = str(poll)
    env["TOCSIN_SMTP_PORT"] = str(smtp_port)
    env["TOCSIN_SMTP_TIMEOUT"] = "10"
    command = [sys.executable, "-m", "tocsin", "serve", "--upgrade", "--demo"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = workdir / "tocsin.log"
    with child(
        command,
        env=env,
        log=log,
        ready_url=f"http://127.0.0.1:{port}/api/v1/openapi.json",
    ):
        found = re.search(r"^\s*events_v2\s+key\s+(\S+)", log.read_text(), re.M)
        if found is None:
            raise SystemExit(f"no events_v2 demo key in the output:\n{log.read_text()}")
        yield f"http://127.0.0.1:{port}", found.group(1)


@contextlib.contextmanager
def started_peer(
    workdir: Path, smtp_port: int, poll: float
) -> Iterator[tuple[str, str]]:
    port = free_port()
    command = [sys.executable, str(HERE / "page_peer.py"), "--port", str(port)]
    command += ["--db", str(workdir / "pager.db"), "--smtp-port", str(smtp_port)]
    with child(
        command,
        env={"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"},
        log=workdir / "peer.log",
        ready_url=f"http://127.0.0.1:{port}/ready",
    ):
        yield f"http://127.0.0.1:{port}", "peer-key"


def event(key: str, dedup: str, summary: str, detail: int = 0) -> dict[str, Any]:
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {
            "summary": summary,
            "source": "bench",
            "severity": "critical",
            "custom_details": {"n": detail},
        },
    }


async def background(
    client: httpx.AsyncClient,
    url: str,
    key: str,
    args: argparse.Namespace,
    stop: asyncio.Event,
    run: Run,
) -> None:
    """Changed repeats of hot keys at about `--load` events per second."""
    period = args.clients / args.load
    started = time.perf_counter()

    async def one_client(number: int) -> None:
        n = 0
        while not stop.is_set():
            began = time.perf_counter()
            hot = f"hot-{(number + n) % args.hot_keys}"
            body = event(key, hot, f"busy {hot}", n)
            with contextlib.suppress(httpx.HTTPError):
                await client.post(f"{url}/v2/enqueue", json=body)
                run.background += 1
            n += 1
            await asyncio.sleep(max(0.0, period - (time.perf_counter() - began)))

    await asyncio.gather(*(one_client(i) for i in range(args.clients)))
    run.background_seconds = time.perf_counter() - started


async def probe(
    client: httpx.AsyncClient,
    url: str,
    key: str,
    args: argparse.Namespace,
    receiver: Receiver,
    run: Run,
) -> None:
    for number in range(args.probes):
        body = event(key, f"probe-{run.name}-{number}", f"latency probe {number}")
        run.sent[number] = time.perf_counter()
        response = await client.post(f"{url}/v2/enqueue", json=body)
        if response.status_code != 202:
            raise SystemExit(f"{run.name} refused a probe: {response.text}")
        await asyncio.sleep(args.interval)

    # Pages still on their way get a few seconds.
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline:
        with receiver.lock:
            if len(receiver.arrived) >= args.probes:
                break
        await asyncio.sleep(0.05)


async def measure(
    name: str, url: str, key: str, args: argparse.Namespace, receiver: Receiver
) -> Run:
    run = Run(name)
    receiver.reset()
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=args.clients + 4)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        # Warm up: one page through, so start-up costs are not a probe's.
        await client.post(f"{url}/v2/enqueue", json=event(key, "warm", "warm up"))
        await asyncio.sleep(1)
        load = asyncio.create_task(background(client, url, key, args, stop, run))
        await asyncio.sleep(1)
        await probe(client, url, key, args, receiver, run)
        stop.set()
        await load

    with receiver.lock:
        arrived = dict(receiver.arrived)
    run.latencies = sorted(
        arrived[n] - sent for n, sent in run.sent.items() if n in arrived
    )
    run.lost = len(run.sent) - len(run.latencies)
    return run


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted `values`."""
    rank = max(1, round(share * len(values) + 0.5))
    return values[min(rank, len(values)) - 1]


def report(runs: list[Run], args: argparse.Namespace) -> None:
    print(
        f"\n{args.probes} probes, one every {args.interval * 1000:.0f} ms, under "
        f"{args.load:.0f} background events/s from {args.clients} clients\n"
    )
    print(f"{'':8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lost':>5} {'bg/s':>7}")
    for run in runs:
        if not run.latencies:
            print(f"{run.name:8} no page arrived")
            continue
        rate = run.background / run.background_seconds if run.background_seconds else 0
        print(
            f"{run.name:8} {percentile(run.latencies, 0.50) * 1000:8.1f} "
            f"{percentile(run.latencies, 0.99) * 1000:8.1f} "
            f"{run.latencies[-1] * 1000:8.1f} {run.lost:5d} {rate:7.0f}"
        )
    tocsin, peer = runs
    if tocsin.queued_to_sent:
        print(
            f"tocsin, page queued to sent: p50 "
            f"{percentile(tocsin.queued_to_sent, 0.5) * 1000:.1f} ms, p99 "
            f"{percentile(tocsin.queued_to_sent, 0.99) * 1000:.1f} ms; of which SMTP "
            f"p50 {percentile(tocsin.smtp, 0.5) * 1000:.1f} ms"
        )
    if tocsin.latencies and peer.latencies:
        for share, label in ((0.50, "p50"), (0.99, "p99")):
            ratio = percentile(tocsin.latencies, share) / percentile(
                peer.latencies, share
            )
            print(f"tocsin / peer at {label}: {ratio:.1f}x")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Page latency from intake to a local SMTP receiver."
    )
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds")
    parser.add_argument("--load", type=float, default=100.0, help="events/s")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--hot-keys", type=int, default=20)
    parser.add_argument(
        "--worker-poll",
        type=float,
        default=1.0,
        help="TOCSIN_WORKER_POLL_SECONDS for Tocsin (its default: 1.0)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.probes <= MAX_PROBES:
        parser.error(f"--probes is 1 to {MAX_PROBES}")
    if not 0 < args.interval <= 10 or not 0 < args.load <= 10_000:
        parser.error("--interval is (0, 10] s and --load (0, 10000] events/s")
    if not 0.01 <= args.worker_poll <= 60:
        parser.error("--worker-poll is 0.01 to 60 seconds")
    if not 1 <= args.clients <= 256 or args.hot_keys < 1:
        parser.error("--clients is 1 to 256 and --hot-keys at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    receiver = Receiver()
    receiver.controller.start()
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as folder:
            workdir = Path(folder)
            for name, start in (("tocsin", started_tocsin), ("peer", started_peer)):
                with start(workdir, receiver.port, args.worker_poll) as (url, key):
                    print(f"measuring {name} at {url} ...", flush=True)
                    run = asyncio.run(measure(name, url, key, args, receiver))
                    if name == "tocsin":
                        where_time_goes(workdir / "tocsin.db", run)
                    runs.append(run)
    finally:
        receiver.controller.stop()
    report(runs, args)


if __name__ == "__main__":
    main()
