"""Intake benchmark: how many Events v2 events per second Tocsin takes, durably,
and how that compares with the simplest server doing the same durable work.

`python bench/intake.py --start` starts Tocsin on a fresh SQLite database
(`serve --no-worker`, or `--worker`), then the peers from `bench/peer.py`, and
drives each in turn with the same clients and the same event mix. See
docs/bench.md for what the figures mean.

Everything runs on 127.0.0.1; runs are bounded by --duration and --max-events.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from load import Mix, Tally, run, send_once

HERE = Path(__file__).resolve().parent
PATH = "/v2/enqueue"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_DURATION = 300.0
MAX_CLIENTS = 512
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    """A server under load: where it listens and which process it is."""

    name: str
    host: str
    port: int
    routing_key: str
    pid: int | None
    database: Path | None = None


@dataclass
class Result:
    target: Target
    tally: Tally
    cpu_seconds: float | None
    client_cpu_seconds: float
    rss_kib: int | None
    peak_rss_kib: int | None
    rows: int | None


# Processes --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `url` for up to 60 s; stop early if the process died."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} never came up:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"{url} not ready after 60 s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def child(
    args: list[str], *, env: dict[str, str], log: Path, ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, ready when entered, stopped (TERM, then KILL) on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
        try:
            wait_ready(ready_url, process, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time the process has used, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime 14 and stime 15 (proc(5)).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_kib(pid: int) -> tuple[int | None, int | None]:
    """(resident set now, its peak) of a process, in KiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None, None

    def field(name: str) -> int | None:
        found = re.search(rf"^{name}:\s+(\d+) kB", status, re.MULTILINE)
        return int(found.group(1)) if found else None

    return field("VmRSS"), field("VmHWM")


def count_rows(database: Path | None, table: str) -> int | None:
    if database is None or not database.exists():
        return None
    with contextlib.closing(
        sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    ) as db:
        row = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        return int(row[0])


# Tocsin -----------------------------------------------------------------------


def tocsin_env(database_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(
        TOCSIN_DATABASE_URL=database_url,
        TOCSIN_BASE_URL=f"http://127.0.0.1:{port}",
        TOCSIN_SECRET_KEY=secrets.token_urlsafe(32),
        # Pages would go nowhere; an unused local port makes that fail fast.
        TOCSIN_SMTP_HOST="127.0.0.1",
        TOCSIN_SMTP_PORT=str(free_port()),
        TOCSIN_SMTP_TIMEOUT="1",
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
    )
    return env


@contextlib.contextmanager
def started_tocsin(
    workdir: Path, database_url: str | None, with_worker: bool
) -> Iterator[Target]:
    port = free_port()
    database = workdir / "tocsin.db"
    url = database_url or f"sqlite:///{database}"
    command = [sys.executable, "-m", "tocsin", "serve", "--upgrade", "--demo"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    if not with_worker:
        command.append("--no-worker")
    log = workdir / "tocsin.log"

    with child(
        command,
        env=tocsin_env(url, port),
        log=log,
        ready_url=f"http://127.0.0.1:{port}/api/v1/openapi.json",
    ) as process:
        found = re.search(r"^\s*events_v2\s+key\s+(\S+)", log.read_text(), re.M)
        if found is None:
            raise SystemExit(f"no events_v2 demo key in the output:\n{log.read_text()}")
        yield Target(
            name="tocsin",
            host="127.0.0.1",
            port=port,
            routing_key=found.group(1),
            pid=process.pid,
            database=database if database_url is None else None,
        )


@contextlib.contextmanager
def started_peer(workdir: Path, kind: str) -> Iterator[Target]:
    port = free_port()
    database = workdir / f"peer-{kind}.db"
    command = [sys.executable, str(HERE / "peer.py"), kind, "--port", str(port)]
    if kind == "sqlite":
        command += ["--db", str(database)]
    with child(
        command,
        env=dict(os.environ),
        log=workdir / f"peer-{kind}.log",
        ready_url=f"http://127.0.0.1:{port}/ready",
    ) as process:
        yield Target(
            name=f"peer-{kind}",
            host="127.0.0.1",
            port=port,
            routing_key="peer",
            pid=process.pid,
            database=database if kind == "sqlite" else None,
        )


# Measuring --------------------------------------------------------------------


def measure(target: Target, args: argparse.Namespace) -> Result:
    print(f"  {target.name}: pid {target.pid}, measuring", flush=True)
    mix = Mix(target.routing_key, hot_keys=args.hot_keys, new_share=args.new_share)

    # The hot keys exist before the clock starts, so repeats are repeats.
    warm = [mix.body(mix.hot_key(i)) for i in range(mix.hot_keys)]
    asyncio.run(send_once(target.host, target.port, PATH, warm))

    cpu_before = cpu_seconds(target.pid) if target.pid else None
    client_before = time.process_time()
    tally = _event_loop_run(
        run(
            target.host,
            target.port,
            PATH,
            mix,
            clients=args.clients,
            duration=args.duration,
            max_events=args.max_events,
        )
    )
    client_cpu = time.process_time() - client_before
    cpu_after = cpu_seconds(target.pid) if target.pid else None

    rss, peak = memory_kib(target.pid) if target.pid else (None, None)
    used = None
    if cpu_before is not None and cpu_after is not None:
        used = cpu_after - cpu_before
    return Result(
        target=target,
        tally=tally,
        cpu_seconds=used,
        client_cpu_seconds=client_cpu,
        rss_kib=rss,
        peak_rss_kib=peak,
        rows=count_rows(target.database, "alerts"),
    )


def _event_loop_run(coroutine: Coroutine[Any, Any, Tally]) -> Tally:
    """Run the clients on uvloop where installed: a cheaper client leaves more
    of the machine to the server under test."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


# Report -----------------------------------------------------------------------


def report(results: list[Result], args: argparse.Namespace, setup: str) -> None:
    print()
    print(
        f"{args.clients} clients, {args.duration:g} s per target, single events; "
        f"{1 - args.new_share:.0%} repeats of {args.hot_keys} keys, "
        f"{args.new_share:.0%} new keys"
    )
    print(f"tocsin: {setup}")
    print(f"machine: {os.cpu_count()} CPUs; client and servers share them")
    print()
    header = (
        f"{'target':<12} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'RSS MB':>7} {'peak MB':>8} {'srv CPU':>8} "
        f"{'cli CPU':>8} {'rows':>7}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        tally = result.tally
        print(
            f"{result.target.name:<12} {tally.rate():>9,.0f} "
            f"{tally.percentile(0.50) * 1000:>8.1f} "
            f"{tally.percentile(0.99) * 1000:>8.1f} {tally.errors:>7} "
            f"{_mb(result.rss_kib):>7} {_mb(result.peak_rss_kib):>8} "
            f"{_share(result.cpu_seconds, tally.elapsed):>8} "
            f"{_share(result.client_cpu_seconds, tally.elapsed):>8} "
            f"{'-' if result.rows is None else result.rows:>7}"
        )
    for result in results:
        tally = result.tally
        if tally.errors:
            kinds = dict(tally.failures)
            kinds.update(
                {f"HTTP {s}": n for s, n in tally.statuses.items() if s >= 300}
            )
            print(f"  {result.target.name} errors: {kinds}")
        print(
            f"  {result.target.name}: {tally.ok:,} events answered 2xx, "
            f"{tally.new_keys:,} of them new keys"
        )

    tocsin = next((r for r in results if r.target.name == "tocsin"), None)
    if tocsin is None:
        return
    print()
    for peer in results:
        if peer is tocsin or not peer.tally.rate():
            continue
        ratio = tocsin.tally.rate() / peer.tally.rate()
        print(f"ratio tocsin / {peer.target.name}: {ratio:.2f}")


def _mb(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f}"


def _share(seconds: float | None, elapsed: float) -> str:
    """CPU time over wall time: 100% is one core kept busy."""
    return "-" if seconds is None or not elapsed else f"{seconds / elapsed:.0%}"


# Command line -----------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure Tocsin's Events v2 intake against simple peers."
    )
    parser.add_argument(
        "--start", action="store_true", help="start Tocsin on a fresh database"
    )
    parser.add_argument(
        "--url", default="http://127.0.0.1:8000", help="a running Tocsin"
    )
    parser.add_argument("--key", help="events_v2 integration key of a running Tocsin")
    parser.add_argument("--pid", type=int, help="its process id, for RSS and CPU")
    parser.add_argument(
        "--database-url", help="with --start: use this database, not a temp SQLite"
    )
    parser.add_argument(
        "--worker", action="store_true", help="with --start: run the worker too"
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--max-events", type=int, default=500_000)
    parser.add_argument("--hot-keys", type=int, default=20)
    parser.add_argument("--new-share", type=float, default=0.10)
    parser.add_argument(
        "--peers",
        default="sqlite,bare",
        help="comma-separated peers to measure too: sqlite, bare (or none)",
    )
    args = parser.parse_args(argv)

    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration must be in (0, {MAX_DURATION:g}]")
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be in [1, {MAX_CLIENTS}]")
    if not 0 <= args.new_share <= 1 or args.hot_keys < 1 or args.max_events < 1:
        parser.error("--new-share in [0, 1], --hot-keys and --max-events >= 1")
    if not args.start and not args.key:
        parser.error("give --key for a running Tocsin, or --start")
    host = urlsplit(args.url).hostname or ""
    if not args.start and host not in LOOPBACK:
        parser.error("the benchmark only sends to loopback addresses")
    args.peers = [p for p in args.peers.split(",") if p and p != "none"]
    if set(args.peers) - {"sqlite", "bare"}:
        parser.error("--peers takes sqlite, bare or none")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results: list[Result] = []

    with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as tmp:
        workdir = Path(tmp)
        if args.start:
            backend = "PostgreSQL" if args.database_url else "SQLite"
            mode = "serve --worker" if args.worker else "serve --no-worker"
            setup = f"started here on {backend}, `{mode}`, one uvicorn process"
            print(f"starting tocsin ({setup})", flush=True)
            with started_tocsin(workdir, args.database_url, args.worker) as target:
                results.append(_announce(measure(target, args)))
        else:
            parts = urlsplit(args.url)
            setup = f"already running at {args.url}"
            target = Target(
                name="tocsin",
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 80,
                routing_key=args.key,
                pid=args.pid,
            )
            results.append(_announce(measure(target, args)))

        for kind in args.peers:
            print(f"starting peer-{kind}", flush=True)
            with started_peer(workdir, kind) as peer:
                results.append(_announce(measure(peer, args)))

    report(results, args, setup)


def _announce(result: Result) -> Result:
    print(f"  {result.target.name}: {result.tally.rate():,.0f} events/s", flush=True)
    return result


if __name__ == "__main__":
    main()
