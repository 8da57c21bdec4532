"""One settings object, read once from `TOCSIN_*` variables and an optional TOML file.

Every field here is documented in the README's configuration table; a test keeps
the two in step.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from tocsin.errors import ConfigError

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
BACKENDS = ("sqlite", "postgresql")
_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class Settings(BaseSettings):
    """Runtime configuration. Environment variables win over the TOML file."""

    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="forbid")

    database_url: str = Field(
        default="sqlite:///var/tocsin.db",
        description="SQLAlchemy URL; `postgresql+psycopg://...` for PostgreSQL.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of this Tocsin, used in links inside pages.",
    )
    secret_key: str = Field(
        default="",
        description=(
            "Signs emailed action links. Required on PostgreSQL; on SQLite one is "
            "made and kept in `var/secret_key`."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` binds.")
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server for pages.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    smtp_tls: Literal["none", "starttls", "ssl"] = Field(
        default="none",
        description="`none`, `starttls` or `ssl` (implicit TLS).",
    )
    smtp_username: str = Field(default="", description="SMTP login, if any.")
    smtp_password: str = Field(default="", description="SMTP password, if any.")
    smtp_timeout: float = Field(
        default=10.0, gt=0, description="SMTP timeout in seconds."
    )
    mail_from: str = Field(
        default="tocsin@localhost", description="Sender address of pages."
    )
    ack_link_ttl_minutes: int = Field(
        default=24 * 60,
        ge=1,
        # A week: a page's link is for acting on that page, not a standing login.
        le=7 * 24 * 60,
        description="How long an emailed action link stays valid.",
    )
    worker_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the worker looks for due work."
    )
    outbox_max_attempts: int = Field(
        default=8, ge=1, description="Sends tried before a message is marked failed."
    )
    log_format: Literal["console", "json"] = Field(
        default="console", description="`console` or `json`."
    )
    log_level: LogLevel = Field(default="INFO", description="Lowest level logged.")
    cookie_secure: bool = Field(
        default=False,
        description="Mark session cookies Secure; turn on behind HTTPS.",
    )
    inbound_mail_enabled: bool = Field(
        default=False,
        description="Listen for inbound mail (SMTP) inside `serve`.",
    )
    inbound_mail_host: str = Field(
        default="127.0.0.1", description="Address the inbound mail listener binds."
    )
    inbound_mail_port: int = Field(
        default=2525, ge=1, le=65535, description="Port of the inbound mail listener."
    )
    inbound_mail_domain: str = Field(
        default="",
        description="Take mail only for this domain (empty: any domain).",
    )
    inbound_mail_max_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=50 * 1024 * 1024,
        description="Largest inbound mail taken; larger ones are refused (552).",
    )
    report_rate_limit: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Public reports one client address may send per window.",
    )
    report_rate_window_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="The window of `report_rate_limit`, in minutes.",
    )
    report_reminder_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="Minutes between reminders to the triage owner of a report "
        "nobody has triaged.",
    )
    status_page_title: str = Field(
        default="Status",
        min_length=1,
        max_length=100,
        description="The public status page's name, in its pages, feed and mail.",
    )
    shift_reminder_minutes: int = Field(
        default=60,
        ge=0,
        le=7 * 24 * 60,
        description="Minutes before a shift that its person is reminded; 0: never.",
    )
    update_cadence_minutes: dict[str, int] = Field(
        default_factory=lambda: {"sev1": 30, "sev2": 60, "sev3": 240},
        description=(
            "Minutes between stakeholder updates per severity, as JSON "
            '(`{"sev1": 30}`); a severity left out has no cadence.'
        ),
    )
    metrics_token: str = Field(
        default="",
        description=(
            "Bearer token Prometheus scrapes `/metrics` with; admins' API tokens "
            "work too."
        ),
    )
    outbound_allow_private: bool = Field(
        default=False,
        description=(
            "Let outgoing requests (webhooks, Slack, Teams, SMS) reach private "
            "networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7)."
        ),
    )
    outbound_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "CIDRs outgoing requests may reach even when not public, "
            "comma-separated (e.g. `127.0.0.1/32`)."
        ),
    )
    outbound_timeout: float = Field(
        default=10.0, gt=0, description="Seconds before an outgoing request fails."
    )
    page_throttle_kinds: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["sms", "voice"],
        description="Contact method kinds that page throttling applies to.",
    )
    page_throttle_limit: int = Field(
        default=5, ge=1, description="Pages one contact method gets per window."
    )
    page_throttle_window_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="Length of a throttling window."
    )
    slack_bot_token: str = Field(
        default="", description="Slack bot token (xoxb-...) for chat.postMessage."
    )
    slack_signing_secret: str = Field(
        default="", description="Verifies Slack's interactive requests."
    )
    slack_api_url: str = Field(
        default="https://slack.com/api", description="Slack Web API base URL."
    )
    twilio_account_sid: str = Field(default="", description="Twilio account SID.")
    twilio_auth_token: str = Field(
        default="", description="Twilio auth token: API login and signatures."
    )
    twilio_from_number: str = Field(
        default="", description="Number SMS and calls come from (E.164)."
    )
    twilio_base_url: str = Field(
        default="https://api.twilio.com",
        description="Base URL of the Twilio-compatible REST API.",
    )
    apprise_targets: dict[str, str] = Field(
        default_factory=dict,
        description=(
            'Named Apprise URLs, as JSON (`{"ops": "tgram://..."}`); an '
            "`apprise` contact method names one."
        ),
    )
    ai_min_history: int = Field(
        default=200,
        ge=2,
        le=1_000_000,
        description=(
            "Resolved incidents needed before suggestions learn from history "
            "alone; below it the bundled synthetic set is added."
        ),
    )
    ai_retrain_hours: int = Field(
        default=24,
        ge=0,
        le=24 * 365,
        description="Hours between retrainings in the worker; 0: only on demand.",
    )
    ai_draft_url: str = Field(
        default="",
        description=(
            "Base URL of an OpenAI-compatible API (ending in `/v1`) that writes "
            "drafts; empty: Tocsin's own templates only."
        ),
    )
    ai_draft_api_key: str = Field(
        default="", description="Bearer key for `ai_draft_url`, if it needs one."
    )
    ai_draft_model: str = Field(
        default="gpt-4o-mini", description="Model name sent to `ai_draft_url`."
    )
    ai_draft_timeout: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Seconds before the draft endpoint is given up on.",
    )
    ai_draft_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["title", "severity", "status", "stage", "service"],
        description=(
            "Incident fields the draft endpoint may be sent, comma-separated: "
            "title, severity, status, stage, service, description, timeline."
        ),
    )
    oidc_issuer: str = Field(
        default="",
        description=(
            "Issuer URL of an OpenID Connect provider for single sign-on; "
            "empty: password login only."
        ),
    )
    oidc_client_id: str = Field(
        default="", description="Client id Tocsin is registered with at the provider."
    )
    oidc_client_secret: str = Field(
        default="", description="Client secret Tocsin shows the provider's token URL."
    )
    oidc_provider_name: str = Field(
        default="SSO",
        min_length=1,
        max_length=60,
        description='Name on the login button: "Sign in with <name>".',
    )
    oidc_allowed_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Email domains that may sign in through the provider, "
            "comma-separated; empty: any domain."
        ),
    )
    oidc_create_users: bool = Field(
        default=False,
        description=(
            "Create an account at the first sign-in of a verified email no user "
            "has; off: such people are refused."
        ),
    )
    oidc_new_user_role: Literal["viewer", "responder", "manager", "admin"] = Field(
        default="viewer", description="Role of accounts created at first sign-in."
    )
    oidc_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "CIDRs the provider may be reached at even when not public (an "
            "in-house provider), comma-separated; only for sign-on requests."
        ),
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL") from None
        if url.get_backend_name() not in BACKENDS:
            raise ValueError(
                f"Tocsin runs on sqlite or postgresql, not {url.get_backend_name()}"
            )

        # Load the driver now, so a missing one is a settings error rather than
        # a traceback from the first query.
        try:
            url.get_dialect().import_dbapi()
        except (ImportError, NoSuchModuleError):
            raise ValueError(
                f"no driver {url.drivername!r} is installed; "
                "use sqlite:///PATH or postgresql+psycopg://..."
            ) from None
        return value

    @field_validator("base_url", "slack_api_url", "twilio_base_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    @field_validator("ai_draft_fields", mode="before")
    @classmethod
    def _split_draft_fields(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ai_draft_fields")
    @classmethod
    def _known_draft_fields(cls, value: list[str]) -> list[str]:
        known = {"title", "severity", "status", "stage", "service"}
        known |= {"description", "timeline"}
        unknown = [name for name in value if name not in known]
        if unknown:
            raise ValueError(f"unknown draft fields: {', '.join(unknown)}")
        return value

    @field_validator("ai_draft_url")
    @classmethod
    def _draft_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator(
        "outbound_allowed_networks",
        "page_throttle_kinds",
        "oidc_allowed_domains",
        "oidc_allowed_networks",
        mode="before",
    )
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("outbound_allowed_networks", "oidc_allowed_networks")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not an IP network (CIDR)") from None
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("an issuer URL has no query or fragment")
        # OpenID Connect Discovery requires https; plain http is allowed only
        # for a provider on this machine, as in tests and local trials.
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            raise ValueError("must be an https:// URL (http only on loopback)")
        return value

    @field_validator("oidc_allowed_domains")
    @classmethod
    def _email_domains(cls, value: list[str]) -> list[str]:
        domains = [domain.lower().lstrip("@") for domain in value]
        for domain in domains:
            if not domain or "@" in domain or " " in domain:
                raise ValueError(f"{domain!r} is not an email domain")
        return domains

    @model_validator(mode="after")
    def _complete_sign_on(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError(
                "TOCSIN_OIDC_ISSUER needs TOCSIN_OIDC_CLIENT_ID and "
                "TOCSIN_OIDC_CLIENT_SECRET as well"
            )
        return self

    @field_validator("update_cadence_minutes")
    @classmethod
    def _cadence_in_range(cls, value: dict[str, int]) -> dict[str, int]:
        for severity, minutes in value.items():
            if not 1 <= minutes <= 7 * 24 * 60:
                raise ValueError(f"{severity}: minutes must be from 1 to 10080")
        return {severity.lower(): minutes for severity, minutes in value.items()}

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("TOCSIN_CONFIG")
        if toml_path:
            # The source would quietly skip a missing file, and with it every
            # setting the operator meant to make.
            if not Path(toml_path).is_file():
                raise ConfigError(f"TOCSIN_CONFIG names {toml_path}, not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, Path(toml_path)))
        return tuple(sources)

    def effective_secret_key(self) -> str:
        """The signing key; a development key is made and kept under `var/`."""
        if self.secret_key:
            return self.secret_key

        # Only a local SQLite setup may invent its own key: several processes on
        # PostgreSQL would each invent a different one and reject each other's links.
        if not self.database_url.startswith("sqlite"):
            raise ConfigError(
                "set TOCSIN_SECRET_KEY: on PostgreSQL every process must sign "
                "emailed action links with the same key"
            )
        key_file = Path("var/secret_key")
        if key_file.exists():
            return key_file.read_text().strip()
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


def load_settings() -> Settings:
    """Read the settings from the environment and the TOCSIN_CONFIG file.

    Raises ConfigError, one line per bad setting, naming its TOCSIN_ variable."""
    path = os.environ.get("TOCSIN_CONFIG")
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError("\n".join(map(_describe, error.errors()))) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"TOCSIN_CONFIG {path} is not valid TOML: {error}") from error
    except OSError as error:
        raise ConfigError(
            f"cannot read TOCSIN_CONFIG {path}: {error.strerror}"
        ) from error


def _describe(error: ErrorDetails) -> str:
    """One line for one bad setting. The value is left out: it may be a secret."""
    message = error["msg"]
    if error["type"] == "value_error":
        message = str(error.get("ctx", {}).get("error", message))
    if not error["loc"]:
        return message
    if error["type"] == "extra_forbidden":
        # Only the TOCSIN_CONFIG file can bring an unknown name (the environment
        # is read field by field): most likely a typo that would go unnoticed.
        return f"{error['loc'][0]}: not a Tocsin setting (in TOCSIN_CONFIG)"

    return f"TOCSIN_{str(error['loc'][0]).upper()}: {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Raises ConfigError (see load_settings)."""
    return load_settings()


def reset_settings(**overrides: Any) -> Settings:
    """Forget the cached settings (tests and the CLI's `--database-url` use this)."""
    get_settings.cache_clear()
    for name, value in overrides.items():
        os.environ[f"TOCSIN_{name.upper()}"] = str(value)
    return get_settings()
