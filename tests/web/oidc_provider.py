"""A small OpenID Connect provider for tests, on 127.0.0.1 in a thread.

It speaks just enough of the protocol for Tocsin's sign-on: discovery, a
JWKS with one RSA key, an authorization endpoint that approves the configured
person at once and redirects back with a code, and a token endpoint that
checks the client secret, the redirect URI, the PKCE verifier (S256 only) and
that each code is used once. Tests steer what it signs: `person` holds the
claims about the user, `token_changes` overrides claims of the next ID
tokens (a wrong nonce, another audience, an old expiry), and `signing_key`
can be swapped for a key the JWKS does not publish.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KEY_ID = "test-key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Grant:
    """What the authorization endpoint remembered about one code."""

    challenge: str
    nonce: str
    redirect_uri: str
    claims: dict[str, Any]


@dataclass
class LocalProvider:
    """The provider's configuration and the state of its sign-ins."""

    client_id: str = "tocsin-test"
    # Characters that Basic authentication must form-encode.
    client_secret: str = "provider secret:with/odd+chars"
    redirect_uri: str = "http://tocsin.test/login/oidc/callback"
    person: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "user-ann-0001",
            "email": "ann@example.com",
            "email_verified": True,
            "name": "Ann Archer",
        }
    )
    token_changes: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    signing_key: rsa.RSAPrivateKey | None = None
    # client_secret_basic unless told otherwise, as the spec's default.
    auth_method: str = "client_secret_basic"
    grants: dict[str, Grant] = field(default_factory=dict)
    used_codes: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    token_errors: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self._server is not None, "start the provider first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LocalProvider:
        provider = self

        class Handler(_Handler):
            owner = provider

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # What the endpoints answer ---------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [self.auth_method],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """Approve the configured person; (status, Location or error text)."""
        if query.get("client_id") != self.client_id:
            return 400, "unknown client"
        if query.get("redirect_uri") != self.redirect_uri:
            return 400, "redirect_uri is not registered"
        if query.get("response_type") != "code" or "openid" not in query.get(
            "scope", ""
        ).split(" "):
            return 400, "only the code flow with the openid scope"
        if query.get("code_challenge_method") != "S256" or not query.get(
            "code_challenge"
        ):
            return 400, "PKCE with S256 is required"

        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            challenge=query["code_challenge"],
            nonce=query.get("nonce", ""),
            redirect_uri=query["redirect_uri"],
            claims=dict(self.person),
        )
        answer = urlencode({"code": code, "state": query.get("state", "")})
        return 302, f"{query['redirect_uri']}?{answer}"

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, Any]:
        if not self._client_authenticated(form, authorization):
            return self._refuse(401, "invalid_client")
        if form.get("grant_type") != "authorization_code":
            return self._refuse(400, "unsupported_grant_type")

        code = form.get("code", "")
        grant = self.grants.pop(code, None)
        if grant is None or code in self.used_codes:
            return self._refuse(400, "invalid_grant")
        self.used_codes.add(code)
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._refuse(400, "invalid_grant")
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return self._refuse(400, "invalid_grant")

        now = self.clock()
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
            "nonce": grant.nonce,
            **grant.claims,
            **self.token_changes,
        }
        id_token = jwt.encode(
            claims,
            self.signing_key or self.key,
            algorithm="RS256",
            headers={"kid": KEY_ID},
        )
        return 200, {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def _client_authenticated(self, form: dict[str, str], authorization: str) -> bool:
        if self.auth_method == "client_secret_post":
            return (form.get("client_id"), form.get("client_secret")) == (
                self.client_id,
                self.client_secret,
            )
        if not authorization.startswith("Basic "):
            return False
        # RFC 6749 section 2.3.1: each part is form-encoded inside Basic.
        client_id, _, secret = (
            base64.b64decode(authorization[6:]).decode().partition(":")
        )
        return (unquote_plus(client_id), unquote_plus(secret)) == (
            self.client_id,
            self.client_secret,
        )

    def _refuse(self, status: int, error: str) -> tuple[int, Any]:
        self.token_errors.append(error)
        return status, {"error": error}


class _Handler(BaseHTTPRequestHandler):
    owner: LocalProvider

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on `requests` instead."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.owner.requests.append(f"GET {parts.path}")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/.well-known/openid-configuration":
            self._json(200, self.owner.discovery())
        elif parts.path == "/jwks":
            self._json(200, self.owner.jwks())
        elif parts.path == "/authorize":
            status, answer = self.owner.authorize(query)
            if status == 302:
                self.send_response(302)
                self.send_header("Location", answer)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._json(status, {"error": answer})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        self.owner.requests.append(f"POST {parts.path}")
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        if parts.path == "/token":
            status, answer = self.owner.token(
                form, self.headers.get("Authorization", "")
            )
            self._json(status, answer)
        else:
            self._json(404, {"error": "not found"})

    def _json(self, status: int, document: Any) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
