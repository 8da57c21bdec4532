"""The outgoing-request guard: user-supplied URLs never reach loopback, private,
link-local or other internal addresses, however the address is written or
whatever a redirect or resolver says."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.channels.servers import ProviderServer, Received, Reply, serve
from tocsin.config import Settings
from tocsin.errors import InvalidInput
from tocsin.outbound import OutboundRefused, check_url, guarded_client

REFUSED_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[::1]:8080/hook",
    "http://127.0.0.1/",
    "http://10.0.0.5/",
    "http://172.16.3.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://0x7f000001/",
    "http://127.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[2002:7f00:1::1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://localhost/",
    "http://api.localhost./",
    "file:///etc/passwd",
    "ftp://example.com/",
    "gopher://example.com/",
    "http://user:secret@example.com/",
    "/relative/path",
    "http://",
    "http://8.8.8.8:99999/",
    "http://8.8.8.8:0/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_internal_and_odd_urls_are_refused(settings: Settings, url: str) -> None:
    """Every internal address form and non-http scheme is refused with a reason."""
    with pytest.raises(OutboundRefused) as refused:
        check_url(settings, url)

    assert refused.value.detail
    assert isinstance(refused.value, InvalidInput)


@pytest.mark.parametrize(
    "url", ["https://hooks.slack.com/services/T0/B0/x", "http://8.8.8.8/hook"]
)
def test_public_urls_pass(settings: Settings, url: str) -> None:
    """A public host name or address is allowed (no network needed to judge it)."""
    assert check_url(settings, url, resolve=False) == url


def test_allow_private_opens_private_networks_only(settings: Settings) -> None:
    """Allowing private networks still refuses loopback and cloud metadata."""
    opened = settings.model_copy(update={"outbound_allow_private": True})

    check_url(opened, "http://10.0.0.5/hook")
    check_url(opened, "http://[fd00::5]/hook")
    for url in ("http://127.0.0.1/", "http://169.254.169.254/", "http://[::1]/"):
        with pytest.raises(OutboundRefused):
            check_url(opened, url)


def test_allowed_networks_open_exactly_what_they_name(settings: Settings) -> None:
    """An allowed CIDR opens its addresses, and only those."""
    opened = settings.model_copy(update={"outbound_allowed_networks": ["127.0.0.1/32"]})

    check_url(opened, "http://127.0.0.1:9/")
    for url in ("http://127.0.0.2/", "http://[::1]/", "http://10.0.0.1/"):
        with pytest.raises(OutboundRefused):
            check_url(opened, url)


def test_allowed_networks_setting_reads_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TOCSIN_OUTBOUND_ALLOWED_NETWORKS takes CIDRs separated by commas."""
    monkeypatch.setenv("TOCSIN_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/32, ::1/128")

    assert Settings().outbound_allowed_networks == ["127.0.0.1/32", "::1/128"]


def test_a_bad_cidr_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value that is not a network is refused when settings are read."""
    monkeypatch.setenv("TOCSIN_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/33")

    with pytest.raises(ValueError, match="not an IP network"):
        Settings()


@pytest.fixture
def receiver() -> Iterator[ProviderServer]:
    yield from serve()


@pytest.fixture
def loopback(settings: Settings) -> Settings:
    return settings.model_copy(update={"outbound_allowed_networks": ["127.0.0.1/32"]})


def test_a_request_to_loopback_is_refused_before_it_connects(
    settings: Settings, receiver: ProviderServer
) -> None:
    """Without an allowance, the client refuses and the server gets nothing."""
    with guarded_client(settings) as client, pytest.raises(OutboundRefused):
        client.post(f"{receiver.url}/hook", content=b"x")

    assert receiver.requests() == []


def test_an_allowed_network_is_reached(
    loopback: Settings, receiver: ProviderServer
) -> None:
    """With 127.0.0.1/32 allowed, the request arrives."""
    with guarded_client(loopback) as client:
        response = client.post(f"{receiver.url}/hook", content=b"hello")

    assert response.status_code == 200
    assert [r.body for r in receiver.requests("/hook")] == [b"hello"]


def _resolver(
    monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]
) -> list[str]:
    """Make `getaddrinfo` answer these names; returns the names it was asked."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in names:
            asked.append(host)
            return [
                (
                    socket.AF_INET6 if ":" in ip else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (ip, port),
                )
                for ip in names[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return asked


def test_a_name_is_resolved_once_and_the_vetted_address_used(
    loopback: Settings, receiver: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection goes to the checked address; the Host header keeps the name."""
    asked = _resolver(monkeypatch, {"receiver.test": ["127.0.0.1"]})

    with guarded_client(loopback) as client:
        client.post(f"http://receiver.test:{receiver.port}/hook", content=b"x")

    assert asked == ["receiver.test"]
    [request] = receiver.requests("/hook")
    assert request.header("host") == f"receiver.test:{receiver.port}"


def test_a_name_resolving_to_an_internal_address_is_refused(
    settings: Settings, receiver: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public-looking name that resolves to loopback is refused at connect."""
    _resolver(monkeypatch, {"innocent.test": ["127.0.0.1"]})

    with guarded_client(settings) as client, pytest.raises(OutboundRefused) as error:
        client.get(f"http://innocent.test:{receiver.port}/")

    assert "127.0.0.1" in error.value.detail
    assert receiver.requests() == []


def test_one_internal_address_among_public_ones_refuses_the_name(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every resolved address must be allowed, not merely the first."""
    _resolver(monkeypatch, {"mixed.test": ["8.8.8.8", "169.254.169.254"]})

    with pytest.raises(OutboundRefused, match=r"169\.254\.169\.254"):
        check_url(settings, "http://mixed.test/")


def test_an_unresolvable_name_is_a_connection_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DNS failure is a retryable connection error, not a refusal."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)

    with guarded_client(settings) as client, pytest.raises(httpx.ConnectError):
        client.get("http://nowhere.test/")


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/",
        "http://2130706433:{port}/",
        "file:///etc/passwd",
    ],
)
def test_a_redirect_to_a_forbidden_place_is_refused(
    loopback: Settings, target: str
) -> None:
    """Following a redirect never leaves the allowed networks."""

    def redirect(request: Received) -> Reply:
        if request.path == "/start":
            location = target.format(port=server.port)
            return Reply(302, b"", headers={"Location": location})
        return Reply()

    server = ProviderServer(redirect)
    server.start()
    try:
        with (
            guarded_client(loopback, follow_redirects=True) as client,
            pytest.raises(OutboundRefused),
        ):
            client.get(f"{server.url}/start")
    finally:
        server.stop()

    assert [r.path for r in server.requests()] == ["/start"]


def test_a_redirect_within_allowed_networks_is_followed(loopback: Settings) -> None:
    """The guard does not break ordinary redirects."""

    def redirect(request: Received) -> Reply:
        if request.path == "/start":
            return Reply(302, b"", headers={"Location": "/end"})
        return Reply(200, b"arrived")

    server = ProviderServer(redirect)
    server.start()
    try:
        with guarded_client(loopback, follow_redirects=True) as client:
            response = client.get(f"{server.url}/start")
    finally:
        server.stop()

    assert response.text == "arrived"


@pytest.fixture
def trickle() -> Iterator[str]:
    """A receiver that answers one byte every 0.2 s for 6 s, then goes quiet:
    each read is well inside a 1 s per-read timeout, so a client bounding only
    reads waits out the whole drip."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def drip(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaa":
                if stop.wait(0.2):
                    return
                try:
                    connection.send(bytes([byte]))
                except OSError:
                    return
            stop.wait()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=drip, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    listener.close()


def test_a_receiver_that_answers_a_byte_at_a_time_is_cut_off(
    loopback: Settings, trickle: str
) -> None:
    """The timeout bounds the whole request, not each read: a slow-dripping
    webhook receiver cannot hold the worker, and every page behind it, forever."""
    started = time.monotonic()

    with (
        guarded_client(loopback, timeout=1.0) as client,
        pytest.raises(httpx.TimeoutException),
    ):
        client.post(f"{trickle}/hook", content=b"x")

    assert time.monotonic() - started < 3


def test_each_request_on_a_kept_alive_connection_gets_the_whole_timeout(
    loopback: Settings,
) -> None:
    """Three answers of 0.4 s each on one connection, under a 1 s timeout: the
    budget starts again with every request, so none of them is cut off."""

    def slow(request: Received) -> Reply:
        time.sleep(0.4)
        return Reply(200, b"ok")

    server = ProviderServer(slow)
    server.start()
    try:
        with guarded_client(loopback, timeout=1.0) as client:
            answers = [client.get(f"{server.url}/n{n}").text for n in range(3)]
    finally:
        server.stop()

    assert answers == ["ok"] * 3
