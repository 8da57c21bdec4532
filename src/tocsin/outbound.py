"""The guard on every HTTP request Tocsin makes to a URL that a user supplied.

Webhook contact methods, Slack and Teams URLs, a Twilio base URL and HTTP checks
all name hosts that someone typed in. Left unguarded, each is a way to make
Tocsin fetch its cloud's metadata service (169.254.169.254), a database admin
page on 10.0.0.5 or its own API on 127.0.0.1 (server-side request forgery).

The guard works where the socket is opened, not where the URL is read:
`guarded_client` gives an httpx client whose connections go through
`GuardedBackend`, which resolves the host once, refuses the request when any
address it resolves to is forbidden, and then connects to that vetted address.
A DNS answer that changes between a check and the connect (DNS rebinding) thus
gains nothing, and every redirect hop is vetted the same way because each new
connection passes through the backend. TLS still verifies the certificate
against the host name of the URL, and the Host header is the URL's.

Forbidden unless allowed: loopback, private (RFC 1918, RFC 6598 shared space,
IPv6 unique local), link-local, multicast, reserved and unspecified addresses,
in IPv4 and IPv6, including IPv4 addresses inside IPv6 (IPv4-mapped, 6to4,
Teredo, NAT64). `TOCSIN_OUTBOUND_ALLOW_PRIVATE` lets private networks through
(an on-premises chat server); loopback, link-local and the rest pass only when
named in `TOCSIN_OUTBOUND_ALLOWED_NETWORKS`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from tocsin.config import Settings
from tocsin.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")

# Private-use networks that TOCSIN_OUTBOUND_ALLOW_PRIVATE opens. Loopback,
# link-local (where cloud metadata lives) and the others are not in this list
# on purpose: they never hold a chat server or a webhook receiver by accident.
PRIVATE_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "fc00::/7",
    )
)

# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# What inet_aton would take as an IPv4 address besides the dotted quad:
# 2130706433, 0x7f.1, 0177.0.0.1, 127.1. A host that looks like this but is not
# a canonical dotted quad is refused, so nobody has to reason about how a
# resolver will read it.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.I)


class OutboundRefused(InvalidInput):
    """Tocsin will not send a request to this URL, and the message says why."""

    title = "Outgoing request refused"
    type_slug = "outbound-refused"


class AnswerTooLarge(Exception):
    """An answer ran past the most a caller will read of it."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit:,} bytes; the rest was not read")
        self.limit = limit


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        # Teredo's server (first) is public by construction; the client (second)
        # is the host that would be reached.
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def allowed_networks(settings: Settings) -> tuple[IPNetwork, ...]:
    return tuple(
        ipaddress.ip_network(cidr, strict=False)
        for cidr in settings.outbound_allowed_networks
    )


def forbidden_reason(
    settings: Settings, address: IPAddress, *, allowed: Iterable[IPNetwork] = ()
) -> str | None:
    """Why `address` may not be reached, or None when it may."""
    allowed = tuple(allowed) or allowed_networks(settings)
    if any(
        address in network for network in allowed if network.version == address.version
    ):
        return None

    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            reason = forbidden_reason(settings, inner, allowed=allowed)
            return f"an IPv6 form of {inner}, {reason}" if reason else None

    if settings.outbound_allow_private and any(
        address in network
        for network in PRIVATE_NETWORKS
        if network.version == address.version
    ):
        return None

    for what, flag in (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a reserved", address.is_reserved),
        ("a private", address.is_private),
    ):
        if flag:
            return f"{what} address"
    if not address.is_global:
        # Shared address space (100.64.0.0/10) and the like: not public either.
        return "not a public address"
    return None


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_host(settings: Settings, host: str, *, resolve: bool = True) -> None:
    """Refuse a host that is, or (with `resolve`) resolves to, a forbidden address.

    Raises OutboundRefused. Without `resolve`, only what the name says by itself
    is judged (literal addresses, numeric forms, `localhost`); the connection
    is vetted again when it is made, so that is the check that counts.
    """
    name = host.strip().rstrip(".").lower()
    if not name:
        raise OutboundRefused("the URL has no host")

    literal = _literal_address(name)
    if literal is None and _NUMERIC_HOST.match(name):
        raise OutboundRefused(
            f"host {host!r} is an IP address in a non-standard form; "
            "write it as a dotted quad"
        )
    if literal is None and (name == "localhost" or name.endswith(".localhost")):
        # RFC 6761: always loopback, whatever a resolver says.
        literal = ipaddress.IPv4Address("127.0.0.1")

    if literal is not None:
        reason = forbidden_reason(settings, literal)
        if reason:
            raise OutboundRefused(f"host {host} is {reason}")
        return

    if resolve:
        resolve_host(settings, name, 443)


def check_url(settings: Settings, url: str, *, resolve: bool = True) -> str:
    """Return `url` if Tocsin may send requests to it; raise OutboundRefused.

    Only http and https are allowed, without user names or passwords in the URL
    (they would end up in logs and on pages that show the URL).
    """
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as error:
        raise OutboundRefused(f"not a valid URL: {error}") from None

    if parsed.scheme not in SCHEMES:
        scheme = parsed.scheme or "a relative URL"
        raise OutboundRefused(
            f"only http:// and https:// URLs are allowed, not {scheme!r}"
        )
    if parsed.userinfo:
        raise OutboundRefused("the URL may not hold a user name or password")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        # Stored, such a URL would fail every attempt with a confusing error.
        raise OutboundRefused(f"port {parsed.port} is not between 1 and 65535")
    check_host(settings, parsed.host, resolve=resolve)
    return str(parsed)


def resolve_host(settings: Settings, host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, all of them allowed; else OutboundRefused.

    All must be allowed, not just one: the connection may use any of them.
    DNS failure raises httpcore.ConnectError, so httpx reports it as a
    connection error (a retryable delivery failure, not bad input).
    """
    literal = _literal_address(host)
    if literal is not None:
        found: list[IPAddress] = [literal]
    else:
        if _NUMERIC_HOST.match(host):
            raise OutboundRefused(
                f"host {host!r} is an IP address in a non-standard form"
            )
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        found = []
        for info in infos:
            # Strip an IPv6 zone ("fe80::1%eth0"); the address decides.
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in found:
                found.append(address)

    allowed = allowed_networks(settings)
    for address in found:
        reason = forbidden_reason(settings, address, allowed=allowed)
        if reason:
            raise OutboundRefused(f"host {host} resolves to {address}, {reason}")
    if not found:
        raise httpcore.ConnectError(f"{host} has no address")
    return found


class _Budgeted(httpcore.NetworkStream):
    """A connection on which every request is done within `budget` seconds.

    httpx's timeouts bound each read and write on their own, so a receiver that
    sends one byte a second never trips them and holds the caller (the worker,
    and every page queued behind this one) for as long as it likes. Here each
    request's clock starts at its first write (a write after a read, on a
    kept-alive connection, is the next request) and every read and write may
    wait only for what is left of it.
    """

    def __init__(self, stream: httpcore.NetworkStream, budget: float) -> None:
        self._stream = stream
        self._budget = budget
        self._ends: float | None = None
        self._reading = True

    def _left(self, timeout: float | None, late: type[Exception]) -> float | None:
        if self._ends is None:
            return timeout
        left = self._ends - time.monotonic()
        if left <= 0:
            raise late(f"no answer within {self._budget:g} seconds")
        return left if timeout is None else min(timeout, left)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._reading:
            self._ends = time.monotonic() + self._budget
            self._reading = False
        self._stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._reading = True
        return self._stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        secure = self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _Budgeted(secure, self._budget)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore network backend that connects only to vetted addresses, and
    gives each request on a connection at most `budget` seconds in all."""

    def __init__(self, settings: Settings, budget: float) -> None:
        self.settings = settings
        self.budget = budget
        self._plain = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_host(self.settings, host, port)

        last_error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                # Connecting to the address we checked, never to the name again.
                stream = self._plain.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return _Budgeted(stream, self.budget)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        raise last_error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise OutboundRefused("Unix sockets are not reachable from outgoing requests")

    def sleep(self, seconds: float) -> None:
        self._plain.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool on a `GuardedBackend`.

    httpx has no public switch for the network backend, so the pool it builds
    is replaced by one of ours with the same TLS context and a whole-request
    time limit of `budget` seconds; nothing else differs.
    """

    def __init__(self, settings: Settings, budget: float) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=20,
            max_keepalive_connections=10,
            network_backend=GuardedBackend(settings, budget),
        )


def _check_request(settings: Settings) -> Any:
    def hook(request: httpx.Request) -> None:
        # Runs for every hop of a redirect, before its connection is made: a
        # redirect to file:// or to a literal metadata address stops here.
        check_url(settings, str(request.url), resolve=False)

    return hook


def read_capped(response: httpx.Response, limit: int) -> bytes:
    """A streamed answer's body, unpacked, read no further than `limit` bytes.

    Whoever typed a URL chooses what answers it, and could answer without end
    or with a gzip bomb; the guarded client bounds the time, this the size.
    Raises AnswerTooLarge past `limit`.
    """
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise AnswerTooLarge(limit)
    return bytes(body)


def guarded_client(
    settings: Settings,
    *,
    timeout: float | None = None,
    follow_redirects: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """An httpx client that may only reach hosts the settings allow.

    A refused request raises OutboundRefused (an InvalidInput) from `send`;
    environment proxies are ignored, since a proxy would connect for us and
    the guard would vet only the proxy. `timeout` (else the setting) bounds
    each request as a whole, answer included, besides every connect and read.
    """
    seconds = settings.outbound_timeout if timeout is None else timeout
    return httpx.Client(
        transport=GuardedTransport(settings, seconds),
        timeout=seconds,
        follow_redirects=follow_redirects,
        max_redirects=5,
        trust_env=False,
        headers={"User-Agent": "Tocsin", **(headers or {})},
        event_hooks={"request": [_check_request(settings)]},
    )
