"""Settings: read from TOCSIN_ variables and a TOML file, and refused as a whole,
one line per bad setting naming its variable, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.config import Settings, load_settings
from tocsin.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TOCSIN_ setting from the caller's shell, and ./var in a temp folder."""
    for name in [*Settings.model_fields, "config"]:
        monkeypatch.delenv(f"TOCSIN_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path)


def refusal(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    return refused.value.detail


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TOCSIN_PORT", "abc"),
        ("TOCSIN_PORT", "0"),
        ("TOCSIN_PORT", "65536"),
        ("TOCSIN_SMTP_PORT", "0"),
        ("TOCSIN_SMTP_PORT", "99999"),
        ("TOCSIN_SMTP_TIMEOUT", "0"),
        ("TOCSIN_ACK_LINK_TTL_MINUTES", "0"),
        ("TOCSIN_ACK_LINK_TTL_MINUTES", str(7 * 24 * 60 + 1)),
        ("TOCSIN_OUTBOX_MAX_ATTEMPTS", "0"),
        ("TOCSIN_WORKER_POLL_SECONDS", "0"),
        ("TOCSIN_WORKER_POLL_SECONDS", "-1"),
        ("TOCSIN_LOG_LEVEL", "loud"),
        ("TOCSIN_LOG_FORMAT", "xml"),
        ("TOCSIN_SMTP_TLS", "maybe"),
        ("TOCSIN_BASE_URL", "tocsin.example.com"),
        ("TOCSIN_BASE_URL", "ftp://tocsin.example.com"),
        ("TOCSIN_BASE_URL", "http://"),
        ("TOCSIN_DATABASE_URL", "garbage"),
        ("TOCSIN_DATABASE_URL", "mysql://tocsin@db/tocsin"),
        ("TOCSIN_DATABASE_URL", "postgresql+nodriver://tocsin@db/tocsin"),
    ],
)
def test_a_bad_setting_is_one_line_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    detail = refusal(monkeypatch, **{variable: value})

    assert detail.startswith(f"{variable}: ")
    assert "\n" not in detail


def test_every_bad_setting_gets_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    detail = refusal(
        monkeypatch, TOCSIN_PORT="abc", TOCSIN_LOG_LEVEL="loud", TOCSIN_SMTP_PORT="0"
    )

    names = sorted(line.split(":")[0] for line in detail.splitlines())
    assert names == ["TOCSIN_LOG_LEVEL", "TOCSIN_PORT", "TOCSIN_SMTP_PORT"]


def test_a_refusal_does_not_repeat_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    detail = refusal(monkeypatch, TOCSIN_PORT="hunter2")

    assert "hunter2" not in detail


def test_a_database_url_that_is_not_sqlite_or_postgresql_names_its_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detail = refusal(monkeypatch, TOCSIN_DATABASE_URL="mysql://tocsin@db/tocsin")

    assert (
        detail == "TOCSIN_DATABASE_URL: Tocsin runs on sqlite or postgresql, not mysql"
    )


def test_good_values_at_the_edges_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_PORT", "65535")
    monkeypatch.setenv("TOCSIN_SMTP_PORT", "1")
    monkeypatch.setenv("TOCSIN_ACK_LINK_TTL_MINUTES", "1")
    monkeypatch.setenv("TOCSIN_WORKER_POLL_SECONDS", "0.01")
    monkeypatch.setenv("TOCSIN_BASE_URL", "https://tocsin.example.com/oncall")
    monkeypatch.setenv("TOCSIN_DATABASE_URL", "postgresql://tocsin@db/tocsin")

    settings = load_settings()

    assert (settings.port, settings.smtp_port) == (65535, 1)
    assert settings.ack_link_ttl_minutes == 1
    assert settings.worker_poll_seconds == 0.01
    assert settings.base_url == "https://tocsin.example.com/oncall"


def test_the_log_level_is_taken_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_LOG_LEVEL", "warning")

    assert load_settings().log_level == "WARNING"


def test_the_toml_file_sets_values_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text('port = 9000\nmail_from = "pages@example.com"\n')
    monkeypatch.setenv("TOCSIN_CONFIG", str(config))
    monkeypatch.setenv("TOCSIN_PORT", "9100")

    settings = load_settings()

    assert (settings.port, settings.mail_from) == (9100, "pages@example.com")


def test_a_bad_value_in_the_toml_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text("port = 0\n")

    detail = refusal(monkeypatch, TOCSIN_CONFIG=str(config))

    assert detail.startswith("TOCSIN_PORT: ")


def test_a_misspelt_key_in_the_toml_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text("smtp_prot = 1025\n")

    detail = refusal(monkeypatch, TOCSIN_CONFIG=str(config))

    assert detail == "smtp_prot: not a Tocsin setting (in TOCSIN_CONFIG)"


def test_unknown_tocsin_variables_in_the_environment_are_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Other tools (and TOCSIN_CONFIG itself) share the prefix."""
    monkeypatch.setenv("TOCSIN_TEST_POSTGRES_URL", "postgresql://elsewhere/db")

    assert load_settings().port == 8000


def test_a_toml_file_that_does_not_parse_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text("port = \n")

    detail = refusal(monkeypatch, TOCSIN_CONFIG=str(config))

    assert detail.startswith(f"TOCSIN_CONFIG {config} is not valid TOML: ")
    assert "line 1" in detail


@pytest.mark.parametrize("name", ["missing.toml", "."])
def test_a_toml_path_that_is_not_a_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    detail = refusal(monkeypatch, TOCSIN_CONFIG=name)

    assert detail == f"TOCSIN_CONFIG names {name}, not a file"


def test_postgresql_without_a_secret_key_has_no_key_to_sign_links() -> None:
    settings = Settings(database_url="postgresql+psycopg://tocsin@db/tocsin")

    with pytest.raises(ConfigError, match=r"^set TOCSIN_SECRET_KEY: "):
        settings.effective_secret_key()


def test_sqlite_without_a_secret_key_makes_one_and_keeps_it(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/tocsin.db")

    first = settings.effective_secret_key()

    assert len(first) >= 32
    assert settings.effective_secret_key() == first
    assert (tmp_path / "var" / "secret_key").read_text() == first
