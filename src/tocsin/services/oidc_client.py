"""Talking to an OpenID Connect provider: its discovery document, its signing
keys (JWKS), the token endpoint, and verification of the ID token it returns.

Requests go through the outbound guard (tocsin.outbound), like every request
Tocsin makes: the discovery document names the other URLs, and a provider
that is not public (an in-house one, or one on 127.0.0.1 in tests) must be
allowed by `TOCSIN_OIDC_ALLOWED_NETWORKS`, which opens those networks to
sign-on requests only. The discovery document and the keys are cached in the
process for an hour; a token signed with a key id not yet known makes the
keys be fetched again, at most once a minute, so a provider can rotate keys.

The ID token is verified as OpenID Connect Core 1.0 section 3.1.3.7 asks: a
signature by one of the provider's keys with an asymmetric algorithm (never
`none`, never a shared-secret HMAC), the issuer, the audience (and `azp` when
there are several), expiry and issue time within a small leeway of Tocsin's
clock, and the nonce this browser's sign-in was started with.
"""

from __future__ import annotations

import base64
import hmac
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import jwt

from tocsin.config import Settings
from tocsin.errors import InvalidInput
from tocsin.outbound import guarded_client

log = logging.getLogger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"
CACHE_SECONDS = 3600.0
KEYS_REFETCH_SECONDS = 60.0
CLOCK_LEEWAY = timedelta(seconds=60)
# Asymmetric algorithms only: with HS256 the "key" would be the client secret,
# and accepting `none` would accept anything.
SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
)
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC"}
MAX_DOCUMENT_BYTES = 256 * 1024

_cache_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Any]]] = {}


class SignOnFailed(InvalidInput):
    """The sign-in through the provider could not be completed.

    `detail` is for the person at the browser; `reason` says what exactly
    failed, for the log.
    """

    title = "Sign-in failed"
    type_slug = "sign-on-failed"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail, reason=reason)
        self.reason = reason


@dataclass(frozen=True)
class ProviderMetadata:
    """What Tocsin uses of a provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]
    signing_algorithms: tuple[str, ...]
    pkce_methods: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    """The person the provider vouches for, from a verified ID token."""

    issuer: str
    subject: str
    email: str
    name: str


def _unreachable(reason: str) -> SignOnFailed:
    return SignOnFailed(
        "The sign-in provider could not be reached or gave an answer Tocsin "
        "cannot use. Try again in a moment, or log in with your password.",
        reason=reason,
    )


def _rejected_token(reason: str) -> SignOnFailed:
    return SignOnFailed(
        "The identity the provider sent failed Tocsin's checks, so you are not "
        f"logged in ({reason}). Please sign in again.",
        reason=f"ID token refused: {reason}",
    )


# Fetching ---------------------------------------------------------------------


def provider_client(settings: Settings) -> httpx.Client:
    """An outbound-guarded client that may also reach TOCSIN_OIDC_ALLOWED_NETWORKS."""
    allowed = [*settings.outbound_allowed_networks, *settings.oidc_allowed_networks]
    scoped = settings.model_copy(update={"outbound_allowed_networks": allowed})
    return guarded_client(scoped, headers={"Accept": "application/json"})


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise _unreachable(f"{what} is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = response.json()
    except ValueError:
        raise _unreachable(f"{what} is not JSON") from None
    if not isinstance(document, dict):
        raise _unreachable(f"{what} is not a JSON object")
    return document


def _get_json(settings: Settings, url: str, what: str) -> dict[str, Any]:
    try:
        with provider_client(settings) as client:
            response = client.get(url)
    except InvalidInput as error:
        # The outbound guard: a host Tocsin may not reach.
        raise _unreachable(f"{what} at {url}: {error.detail}") from error
    except httpx.HTTPError as error:
        raise _unreachable(f"{what} at {url}: {type(error).__name__} {error}") from None

    if response.status_code != 200:
        raise _unreachable(f"{what} at {url} answered {response.status_code}")
    return _json_object(response, what)


def _cached(
    settings: Settings, url: str, what: str, *, max_age: float = CACHE_SECONDS
) -> dict[str, Any]:
    """The document at `url`, from the cache when fetched less than `max_age`
    seconds ago. Only a good answer is cached: an outage is not remembered."""
    with _cache_lock:
        held = _cache.get(url)
    if held is not None and time.monotonic() - held[0] < max_age:
        return held[1]

    document = _get_json(settings, url, what)
    with _cache_lock:
        _cache[url] = (time.monotonic(), document)
    return document


def _forget(url: str) -> None:
    with _cache_lock:
        _cache.pop(url, None)


def forget_providers() -> None:
    """Drop every cached discovery document and key set (tests, key trouble)."""
    with _cache_lock:
        _cache.clear()


# Discovery --------------------------------------------------------------------


def _http_url(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
        raise _unreachable(f"the discovery document has no http(s) {name}")
    return value


def _names(document: dict[str, Any], name: str) -> tuple[str, ...]:
    value = document.get(name)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def discover(settings: Settings) -> ProviderMetadata:
    """The configured provider's metadata (OpenID Connect Discovery 1.0).

    Raises SignOnFailed when the document cannot be fetched or does not belong
    to the configured issuer.
    """
    issuer = settings.oidc_issuer
    url = issuer.rstrip("/") + DISCOVERY_PATH
    document = _cached(settings, url, "the discovery document")

    try:
        # Discovery section 4.3: the document's issuer must be the very URL
        # the document was found under, or its tokens are someone else's.
        if document.get("issuer") != issuer:
            raise _unreachable(
                f"the discovery document names issuer {document.get('issuer')!r}, "
                f"not the configured {issuer!r}"
            )
        metadata = ProviderMetadata(
            issuer=issuer,
            authorization_endpoint=_http_url(document, "authorization_endpoint"),
            token_endpoint=_http_url(document, "token_endpoint"),
            jwks_uri=_http_url(document, "jwks_uri"),
            token_auth_methods=_names(
                document, "token_endpoint_auth_methods_supported"
            ),
            signing_algorithms=_names(
                document, "id_token_signing_alg_values_supported"
            ),
            pkce_methods=_names(document, "code_challenge_methods_supported"),
        )
    except SignOnFailed:
        _forget(url)
        raise

    if metadata.pkce_methods and "S256" not in metadata.pkce_methods:
        raise _unreachable("the provider does not support PKCE with S256")
    return metadata


# The token endpoint -----------------------------------------------------------


def exchange_code(
    settings: Settings,
    metadata: ProviderMetadata,
    *,
    code: str,
    verifier: str,
    redirect_uri: str,
) -> str:
    """Trade an authorization code for the provider's ID token (RFC 6749
    section 4.1.3, with the PKCE verifier of RFC 7636). Returns the ID token
    as sent; raises SignOnFailed when the provider refuses or cannot be reached.
    """
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    headers: dict[str, str] = {}
    methods = metadata.token_auth_methods or ("client_secret_basic",)
    if "client_secret_basic" in methods:
        # RFC 6749 section 2.3.1: both parts are form-encoded before Basic.
        pair = (
            f"{quote(settings.oidc_client_id, safe='')}:"
            f"{quote(settings.oidc_client_secret, safe='')}"
        )
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    elif "client_secret_post" in methods:
        form["client_id"] = settings.oidc_client_id
        form["client_secret"] = settings.oidc_client_secret
    else:
        raise _unreachable(
            "the token endpoint takes neither client_secret_basic nor "
            "client_secret_post"
        )

    try:
        with provider_client(settings) as client:
            response = client.post(metadata.token_endpoint, data=form, headers=headers)
    except InvalidInput as error:
        raise _unreachable(f"token endpoint: {error.detail}") from error
    except httpx.HTTPError as error:
        raise _unreachable(f"token endpoint: {type(error).__name__} {error}") from None

    if response.status_code != 200:
        answer = _json_object(response, "the token error") if response.content else {}
        error_code = str(answer.get("error", ""))[:100] or "no error code"
        raise SignOnFailed(
            "The provider refused to complete the sign-in: the code may have "
            "been used already or have expired. Please sign in again.",
            reason=f"token endpoint answered {response.status_code} ({error_code})",
        )

    id_token = _json_object(response, "the token answer").get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise _unreachable("the token answer holds no id_token")
    return id_token


# ID token verification --------------------------------------------------------


def _signing_key(
    settings: Settings, metadata: ProviderMetadata, kid: str | None, alg: str
) -> jwt.PyJWK:
    """The provider's public key for a token signed with `alg` under key id
    `kid`; fetches the keys again when the id is unknown (key rotation)."""
    keys = _cached(settings, metadata.jwks_uri, "the signing keys")
    found = _pick_key(keys, kid, alg)
    if found is None:
        keys = _cached(
            settings,
            metadata.jwks_uri,
            "the signing keys",
            max_age=KEYS_REFETCH_SECONDS,
        )
        found = _pick_key(keys, kid, alg)
    if found is None:
        raise _rejected_token(f"no signing key {kid!r} for {alg}")

    try:
        return jwt.PyJWK(found, algorithm=alg)
    except jwt.PyJWKError as error:
        raise _rejected_token(f"unusable signing key {kid!r}: {error}") from None


def _pick_key(keys: dict[str, Any], kid: str | None, alg: str) -> dict[str, Any] | None:
    listed = keys.get("keys")
    if not isinstance(listed, list):
        return None

    fitting = [
        key
        for key in listed
        if isinstance(key, dict)
        and key.get("kty") == _KEY_TYPES[alg[:2]]
        and key.get("use", "sig") == "sig"
        and key.get("alg", alg) == alg
    ]
    if kid is not None:
        return next((key for key in fitting if key.get("kid") == kid), None)
    # No key id: only unambiguous when the provider has a single such key.
    return fitting[0] if len(fitting) == 1 else None


def verify_id_token(
    settings: Settings,
    metadata: ProviderMetadata,
    token: str,
    *,
    nonce: str,
    now: datetime,
) -> Identity:
    """The identity an ID token vouches for, after every check passes.

    Raises SignOnFailed naming the check that failed: signature, issuer,
    audience, expiry, issue time, nonce, or a verified email.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _rejected_token("it is not a well-formed JWT") from None

    alg = header.get("alg")
    if alg not in SIGNING_ALGORITHMS:
        raise _rejected_token(f"signing algorithm {alg!r} is not accepted")
    if metadata.signing_algorithms and alg not in metadata.signing_algorithms:
        raise _rejected_token(f"the provider does not sign with {alg}")
    kid = header.get("kid")
    key = _signing_key(settings, metadata, kid if isinstance(kid, str) else None, alg)

    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=[alg],
            audience=settings.oidc_client_id,
            issuer=metadata.issuer,
            # Times are checked below against Tocsin's clock, not the wall's.
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["iss", "sub", "aud", "exp", "iat"],
            },
        )
    except jwt.InvalidSignatureError:
        raise _rejected_token("bad signature") from None
    except jwt.InvalidAudienceError:
        raise _rejected_token("it was issued for another client") from None
    except jwt.InvalidIssuerError:
        raise _rejected_token("it comes from another issuer") from None
    except jwt.MissingRequiredClaimError as error:
        raise _rejected_token(f"it lacks the {error.claim} claim") from None
    except jwt.PyJWTError as error:
        raise _rejected_token(f"it is malformed: {error}") from None

    _check_audience(settings, claims)
    _check_times(claims, now)
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
        claims["nonce"].encode(), nonce.encode()
    ):
        raise _rejected_token("the nonce is not this sign-in's")

    return _identity(metadata, claims)


def _check_audience(settings: Settings, claims: dict[str, Any]) -> None:
    audience = claims["aud"]
    several = isinstance(audience, list) and len(audience) > 1
    azp = claims.get("azp")
    # Core 3.1.3.7 items 4 and 5: a token for several clients must name us as
    # its authorised party.
    if (several or azp is not None) and azp != settings.oidc_client_id:
        raise _rejected_token("it was issued for another client (azp)")


def _instant(claims: dict[str, Any], name: str) -> datetime:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _rejected_token(f"its {name} is not a number")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise _rejected_token(f"its {name} is out of range") from None


def _check_times(claims: dict[str, Any], now: datetime) -> None:
    if _instant(claims, "exp") <= now - CLOCK_LEEWAY:
        raise _rejected_token("it has expired")
    if _instant(claims, "iat") > now + CLOCK_LEEWAY:
        raise _rejected_token("it was issued in the future")
    if "nbf" in claims and _instant(claims, "nbf") > now + CLOCK_LEEWAY:
        raise _rejected_token("it is not valid yet")


def _identity(metadata: ProviderMetadata, claims: dict[str, Any]) -> Identity:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise _rejected_token("its subject is missing or too long")

    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SignOnFailed(
            "The provider did not tell Tocsin your email address; it is needed "
            "to find your account.",
            reason="ID token without an email claim",
        )
    # Some providers send the flag as the string "true".
    if claims.get("email_verified") not in (True, "true"):
        raise SignOnFailed(
            "The provider has not verified your email address, so Tocsin cannot "
            "tell that it is yours. Verify it with the provider, then try again.",
            reason=f"email {email} is not verified at the provider",
        )

    name = claims.get("name") or claims.get("preferred_username") or ""
    return Identity(
        issuer=metadata.issuer,
        subject=subject,
        email=email.strip().lower(),
        name=name if isinstance(name, str) else "",
    )
