"""The load generator: concurrent keep-alive clients posting Events v2 events.

It speaks just enough HTTP/1.1 over asyncio streams to post a JSON body and read
the answer. A full client such as httpx costs several times more CPU per
request, and on a two-core machine the client's CPU is taken from the server it
measures; the thinner the client, the more the figures say about the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Mix:
    """What the clients send: mostly repeats of a few alerts, some new ones.

    The repeats carry identical content, so they are true duplicates (the common
    case of an alert storm); every new key is a new alert, hence a new incident.
    """

    routing_key: str
    hot_keys: int = 20
    new_share: float = 0.10
    run: str = field(default_factory=lambda: f"{random.getrandbits(32):08x}")

    def hot_key(self, index: int) -> str:
        return f"bench-hot-{self.run}-{index}"

    def body(self, dedup_key: str) -> bytes:
        event = {
            "routing_key": self.routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": f"Bench alert {dedup_key}",
                "source": "bench.example.com",
                "severity": "error",
            },
        }
        return json.dumps(event).encode()


@dataclass
class Tally:
    """What one run measured. Latencies are in seconds, one per answered event."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    new_keys: int = 0
    elapsed: float = 0.0

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def errors(self) -> int:
        return self.answered - self.ok + sum(self.failures.values())

    def rate(self) -> float:
        """Successful events per second."""
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, int(share * len(ordered)))
        return ordered[index]


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        """Post `body` as JSON to `path`; the response's status code."""
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port
            )

        head = (
            f"POST {path} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self._writer.write(head.encode() + body)
        status, keep_alive = await _read_response(self._reader)
        if not keep_alive:
            await self.close()
        return status

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    status_line = await reader.readuntil(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])

    length = 0
    chunked = False
    keep_alive = True
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        value = value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            keep_alive = value != b"close"

    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, keep_alive


async def send_once(host: str, port: int, path: str, bodies: list[bytes]) -> None:
    """Send `bodies` one after another (warm-up); fail on any non-2xx answer."""
    connection = Connection(host, port)
    try:
        for body in bodies:
            status = await connection.post(path, body)
            if not 200 <= status < 300:
                raise RuntimeError(f"warm-up event answered {status}")
    finally:
        await connection.close()


async def run(
    host: str,
    port: int,
    path: str,
    mix: Mix,
    *,
    clients: int,
    duration: float,
    max_events: int,
) -> Tally:
    """Drive `clients` connections for `duration` seconds or `max_events`
    events, whichever comes first."""
    tally = Tally()
    hot = [mix.body(mix.hot_key(i)) for i in range(mix.hot_keys)]
    budget = max_events
    sequence = 0
    started = time.perf_counter()
    deadline = started + duration

    def next_body() -> bytes | None:
        nonlocal budget, sequence
        if budget <= 0 or time.perf_counter() >= deadline:
            return None
        budget -= 1
        if random.random() < mix.new_share:
            sequence += 1
            tally.new_keys += 1
            return mix.body(f"bench-new-{mix.run}-{sequence}")
        return random.choice(hot)

    async def client() -> None:
        connection = Connection(host, port)
        try:
            while (body := next_body()) is not None:
                sent = time.perf_counter()
                try:
                    status = await asyncio.wait_for(
                        connection.post(path, body), REQUEST_TIMEOUT
                    )
                except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
                    tally.failures[type(error).__name__] += 1
                    await connection.close()
                    continue
                tally.latencies.append(time.perf_counter() - sent)
                tally.statuses[status] += 1
        finally:
            await connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    tally.elapsed = time.perf_counter() - started
    return tally
