"""Real servers for the end-to-end tests, and the small client-side helpers that
drive them: Tocsin in a subprocess, an SMTP server that keeps what it receives,
and Debian's Prometheus Alertmanager.

Everything listens on 127.0.0.1 on a port picked free at start. Waiting is
always bounded polling: these are real processes with real timing, so a test
asks "is it there yet?" until a deadline instead of sleeping a guessed amount.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tocsin.services import escalation
from tocsin.store.db import Database
from tocsin.store.models import Timer

T = TypeVar("T")

TIMEOUT = 30.0
POLL = 0.1
KINDS = ("alertmanager", "events_v2", "grafana", "generic")
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it; the caller binds it
    soon after, which is the usual small race of test harnesses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float = TIMEOUT,
    diagnose: Callable[[], str] | None = None,
) -> T:
    """Call `probe` until it returns something truthy; fail after `timeout`.

    `diagnose` is called only on failure, to put the server logs or the
    mailbox in the message, which is where the reason usually is.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f"\n{diagnose()}" if diagnose else ""
            raise AssertionError(f"timed out after {timeout:.0f}s: {what}{detail}")
        time.sleep(POLL)


# Processes --------------------------------------------------------------------


class ServerProcess:
    """A child process whose output goes to a log file, stopped on `stop()`."""

    def __init__(
        self, name: str, args: list[str], *, env: dict[str, str], workdir: Path
    ) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            args,
            env=env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        tail = "\n".join(self.log().splitlines()[-lines:])
        return f"--- last lines of {self.name} (exit {self.process.poll()}) ---\n{tail}"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not gone within ten seconds."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def wait_until_serving(server: ServerProcess, url: str) -> None:
    """Poll `url` until it answers 200; fail at once if the process has died."""

    def ready() -> bool:
        if not server.alive():
            raise AssertionError(f"{server.name} exited early\n{server.log_tail()}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(ready, what=f"{server.name} answering {url}", diagnose=server.log_tail)


# Mail -------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    recipients: tuple[str, ...]
    subject: str
    body: str

    def link(self, label: str) -> str:
        """The URL on the line starting with `label:` (Acknowledge, Resolve)."""
        found = re.search(rf"^{label}:\s*(\S+)\s*$", self.body, re.MULTILINE)
        if found is None:
            raise AssertionError(f"no {label} link in the page:\n{self.body}")
        return found.group(1)


class Mailbox:
    """An aiosmtpd server on a free port that keeps every message it accepts."""

    def __init__(self) -> None:
        self.port = free_port()
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook for a received message: keep it, say 250."""
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default
        )
        body = message.get_body(preferencelist=("plain",))
        mail = Mail(
            recipients=tuple(envelope.rcpt_tos),
            subject=str(message["Subject"]),
            body=body.get_content() if body is not None else "",
        )
        with self._lock:
            self._mails.append(mail)
        return "250 Message accepted for delivery"

    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def to(self, recipient: str, incident_number: int) -> list[Mail]:
        """Pages to `recipient` about incident `incident_number`."""
        subject = re.compile(rf"#{incident_number}\b")
        return [
            mail
            for mail in self.mails()
            if recipient in mail.recipients and subject.search(mail.subject)
        ]

    def wait_for_page(self, recipient: str, incident_number: int) -> Mail:
        mails = wait_for(
            lambda: self.to(recipient, incident_number),
            what=f"a page to {recipient} about incident #{incident_number}",
            diagnose=self.describe,
        )
        return mails[0]

    def describe(self) -> str:
        lines = [f"{m.recipients} {m.subject}" for m in self.mails()]
        return "mailbox holds:\n" + ("\n".join(lines) or "(nothing)")


# Tocsin -----------------------------------------------------------------------


def tocsin_env(
    *, database_url: str, base_url: str, smtp_port: int, secret: str
) -> dict[str, str]:
    """The environment a Tocsin child runs with: ours only, nothing inherited
    from TOCSIN_* variables of the shell that runs the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(
        TOCSIN_DATABASE_URL=database_url,
        TOCSIN_BASE_URL=base_url,
        TOCSIN_SECRET_KEY=secret,
        TOCSIN_SMTP_HOST="127.0.0.1",
        TOCSIN_SMTP_PORT=str(smtp_port),
        TOCSIN_SMTP_TIMEOUT="5",
        TOCSIN_WORKER_POLL_SECONDS="0.2",
        PYTHONUNBUFFERED="1",
        # Rich must print plain lines we can parse, whatever the terminal.
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
    )
    return env


def tocsin_cli(env: dict[str, str], workdir: Path, *args: str) -> str:
    """Run `python -m tocsin ARGS` and return its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"tocsin {' '.join(args)} exited {done.returncode}:\n"
            f"{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def parse_demo_keys(output: str) -> dict[str, str]:
    """The integration keys from the demo listing (`  events_v2  key abc...`)."""
    pattern = re.compile(rf"^\s*({'|'.join(KINDS)})\s+key\s+(\S+)\s*$", re.MULTILINE)
    return dict(pattern.findall(output))


@dataclass
class Tocsin:
    """A running `tocsin serve --upgrade --demo`, and an API client for it."""

    server: ServerProcess
    base_url: str
    database_url: str
    keys: dict[str, str]
    token: str
    api: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.api = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )

    def close(self) -> None:
        self.api.close()
        self.server.stop()

    def intake_url(self, kind: str) -> str:
        return f"{self.base_url}/api/v1/intake/{kind}/{self.keys[kind]}"

    def incident_numbers(self) -> set[int]:
        response = self.api.get("/api/v1/incidents")
        assert response.status_code == 200, response.text
        return {item["number"] for item in _items(response.json())}

    def incident(self, number: int) -> dict[str, Any]:
        response = self.api.get(f"/api/v1/incidents/{number}")
        assert response.status_code == 200, response.text
        detail: dict[str, Any] = response.json()
        return detail

    def wait_for_incident(
        self,
        match: Callable[[dict[str, Any]], bool],
        *,
        what: str,
        among: Callable[[], set[int]] | None = None,
    ) -> dict[str, Any]:
        """The first incident whose detail satisfies `match`."""

        def probe() -> dict[str, Any] | None:
            numbers = among() if among else self.incident_numbers()
            for number in sorted(numbers):
                detail = self.incident(number)
                if match(detail):
                    return detail
            return None

        return wait_for(probe, what=what, diagnose=self.server.log_tail)

    def wait_for_status(self, number: int, status: str) -> dict[str, Any]:
        return wait_for(
            lambda: _if(self.incident(number), lambda d: d["status"] == status),
            what=f"incident #{number} to become {status}",
            diagnose=self.server.log_tail,
        )

    def pending_timers(self, incident_id: int) -> int:
        """Escalation timers the database holds for an incident, read from it.

        Other kinds (a feedback invitation due at resolution, say) come and go
        on the worker's own time, so counting them would make a test race it.
        """
        database = Database(self.database_url)
        try:
            with database.read() as session:
                found = session.scalars(
                    select(Timer.id).where(
                        Timer.incident_id == incident_id,
                        Timer.kind.in_(escalation.KINDS),
                    )
                ).all()
                return len(found)
        finally:
            database.dispose()

    def make_timers_due(self, incident_id: int) -> int:
        """Move the incident's timers to now, as if their delay had passed."""
        database = Database(self.database_url)
        try:
            with database.write() as session:
                timers = session.scalars(
                    select(Timer).where(Timer.incident_id == incident_id)
                ).all()
                for timer in timers:
                    timer.due_at = timer.created_at
                return len(timers)
        finally:
            database.dispose()


def _items(page: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = page["items"] if isinstance(page, dict) else page
    return items


def _if(value: T, condition: Callable[[T], bool]) -> T | None:
    return value if condition(value) else None


def start_tocsin(
    workdir: Path, *, database_url: str, smtp_port: int, secret: str
) -> Tocsin:
    """Start `tocsin serve --upgrade --demo` and wait until it serves."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = tocsin_env(
        database_url=database_url,
        base_url=base_url,
        smtp_port=smtp_port,
        secret=secret,
    )
    command = [sys.executable, "-m", "tocsin", "serve", "--upgrade", "--demo"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess("tocsin", command, env=env, workdir=workdir)
    try:
        wait_until_serving(server, f"{base_url}/api/v1/openapi.json")
        keys = parse_demo_keys(server.log())
        assert set(keys) == set(KINDS), f"demo keys not printed:\n{server.log()}"
        output = tocsin_cli(env, workdir, "token", "create", "alice@example.com")
        token = output.strip().splitlines()[-1].strip()
    except BaseException:
        server.stop()
        raise
    return Tocsin(
        server=server,
        base_url=base_url,
        database_url=database_url,
        keys=keys,
        token=token,
    )


# Action links -----------------------------------------------------------------


class _FormParser(HTMLParser):
    """Collects the first POST form of a page: its action and named fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._inside = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and not self._done:
            if attributes.get("method", "get").lower() == "post":
                self.action = attributes.get("action", "")
                self._inside = True
        elif tag in ("input", "button") and self._inside:
            name = attributes.get("name")
            kind = attributes.get("type", "submit" if tag == "button" else "text")
            # Unnamed buttons send nothing; checkboxes would need checking.
            if name and kind != "checkbox":
                self.fields[name] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._inside:
            self._inside = False
            self._done = True


class ActionLink:
    """An emailed action link, followed as a browser would: GET shows a page
    with a form, and submitting that form is what acts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._browser = httpx.Client(timeout=10, follow_redirects=True)
        self._form: _FormParser | None = None
        self._page_url = url

    def close(self) -> None:
        self._browser.close()

    def open(self) -> httpx.Response:
        page = self._browser.get(self.url, headers={"Accept": "text/html"})
        self._form = _FormParser()
        self._form.feed(page.text)
        self._page_url = str(page.url)
        return page

    def confirm(self) -> httpx.Response:
        """Submit the page's POST form (open() first)."""
        form = self._form
        assert form is not None, "open the link before confirming it"
        assert form.action is not None, "the link's page holds no POST form"

        target = urljoin(self._page_url, form.action) if form.action else self.url
        return self._browser.post(
            target, data=form.fields, headers={"Accept": "text/html"}
        )


# Alertmanager -----------------------------------------------------------------


ALERTMANAGER_CONFIG = """\
route:
  receiver: tocsin
  group_by: ["alertname"]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 12h
receivers:
  - name: tocsin
    webhook_configs:
      - url: "{url}"
        send_resolved: true
"""


@dataclass
class Alertmanager:
    server: ServerProcess
    base_url: str
    api: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.api = httpx.Client(base_url=self.base_url, timeout=10)

    def close(self) -> None:
        self.api.close()
        self.server.stop()

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        response = self.api.post("/api/v2/alerts", json=alerts)
        assert response.status_code == 200, response.text


def start_alertmanager(workdir: Path, webhook_url: str) -> Alertmanager:
    """Start Alertmanager with one webhook receiver; gossip clustering off."""
    config = workdir / "alertmanager.yml"
    config.write_text(ALERTMANAGER_CONFIG.format(url=webhook_url))
    storage = workdir / "alertmanager-data"
    storage.mkdir(exist_ok=True)
    port = free_port()
    command = [
        ALERTMANAGER,
        f"--config.file={config}",
        f"--storage.path={storage}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    server = ServerProcess(
        "alertmanager", command, env=dict(os.environ), workdir=workdir
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(server, f"{base_url}/-/ready")
    except BaseException:
        server.stop()
        raise
    return Alertmanager(server=server, base_url=base_url)
