"""Settings: config.toml + COMMHUB_<SECTION>__<KEY> overrides, and errors that name the key."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from commhub.cli import main
from commhub.errors import ConfigError
from commhub.settings import SHIPPED_ROOT, load


def test_the_shipped_config_works_as_it_is() -> None:
    s = load(SHIPPED_ROOT / "config.toml", env={})
    assert s.database_url == f"sqlite:///{SHIPPED_ROOT / 'var' / 'commhub.db'}"
    assert s.delivery.large_print_email == "outbox"
    assert s.path(s.transports.outbox.path) == SHIPPED_ROOT / "var" / "outbox"
    assert s.quiet_hours.start == time(21, 0) and s.quiet_hours.end == time(8, 0)
    assert s.plan.phones["member_services"].number == "1-800-555-0100"
    assert s.speech.gtts_enabled is False  # never sends text to Google unless asked
    assert s.language.policy == "fallback"


def test_environment_overrides_any_key(tmp_path: Path) -> None:
    env = {
        "COMMHUB_TRANSPORTS__SMTP__PORT": "2525",
        "COMMHUB_DELIVERY__AUDIO": "smtp",
        "COMMHUB_DATABASE__URL": "postgresql://commhub@db/commhub",
        "COMMHUB_QUIET_HOURS__ENABLED": "false",
        "COMMHUB_LANGUAGE__FOOTER_LANGUAGES": "es, vi",
        "COMMHUB_WORKERS__BACKOFF_BASE_SECONDS": "0.5",
    }
    s = load(SHIPPED_ROOT / "config.toml", env=env)
    assert s.transports.smtp.port == 2525
    assert s.delivery.audio == "smtp"
    assert s.database_url == "postgresql://commhub@db/commhub"
    assert s.quiet_hours.enabled is False
    assert s.language.footer_languages == ("es", "vi")
    assert s.workers.backoff_base_seconds == 0.5


def test_config_path_from_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "other.toml"
    cfg.write_text('[server]\nport = 9999\n[database]\nurl = "sqlite:///db/hub.db"\n')
    s = load(env={"COMMHUB_CONFIG": str(cfg)})
    assert s.server.port == 9999
    assert s.database_url == f"sqlite:///{tmp_path / 'db' / 'hub.db'}"  # relative to the file


@pytest.mark.parametrize(
    ("toml", "env", "names"),
    [
        ("", {"COMMHUB_TRANSPORTS__SMTP__PORT": "twenty-five"}, "transports.smtp.port"),
        ("[server]\nport = 70000\n", {}, "server.port"),
        ('[server]\nport = "8080"\n', {}, "server.port"),
        ("[server]\nprot = 8080\n", {}, "server.prot"),
        ('[language]\npolicy = "sometimes"\n', {}, "language.policy"),
        ('[language]\nfooter_languages = ["xx"]\n', {}, "language.footer_languages"),
        ('[delivery]\naudio = "pigeon"\n', {}, "delivery.audio"),
        ('[database]\nurl = "mysql://x"\n', {}, "database.url"),
        ('[quiet_hours]\nstart = "late"\n', {}, "quiet_hours.start"),
        (
            '[plan.phones.member_services]\nlabel = "MS"\nnumber = "555"\n',
            {},
            "plan.phones.member_services.number",
        ),
        ("", {"COMMHUB_QUIET_HOURS__ENABLED": "maybe"}, "quiet_hours.enabled"),
        ('[delivery]\naudio = "webhook"\n', {}, "transports.webhook.url"),
    ],
)
def test_invalid_values_name_the_key(
    tmp_path: Path, toml: str, env: dict[str, str], names: str
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        load(cfg, env=env)


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        # Each of these loaded before settings were typed, and made the hub misbehave.
        (
            "[workers]\nlease_seconds = -5\n",
            {},
            "workers.lease_seconds: expected `float` >= 1.0, not -5",
        ),
        (
            "",
            {"COMMHUB_WORKERS__LEASE_SECONDS": "-5"},
            "workers.lease_seconds: expected `float` >= 1.0",
        ),
        (
            "[workers]\nbackoff_base_seconds = -1\n",
            {},
            "workers.backoff_base_seconds: expected `float` >= 0.0",
        ),
        ("[workers]\nbackoff_max_seconds = -1\n", {}, "workers.backoff_max_seconds"),
        (
            "[workers]\nbackoff_max_seconds = 1\n",
            {},
            "workers.backoff_max_seconds: must be at least backoff_base_seconds (5), not 1",
        ),
        ("[workers]\npoll_seconds = 0\n", {}, "workers.poll_seconds: expected `float` > 0.0"),
        ("[speech]\ncache_entries = -3\n", {}, "speech.cache_entries: expected `int` >= 0, not -3"),
        (
            '[language]\nrelay_footer = "shrot"\n',
            {},
            "language.relay_footer: must be one of 'full', 'short', not 'shrot'",
        ),
        (
            "",
            {"COMMHUB_LANGUAGE__RELAY_FOOTER": "shrot"},
            "language.relay_footer: must be one of 'full', 'short'",
        ),
        (
            "[transports.smtp]\ntimeout_seconds = 0\n",
            {},
            "transports.smtp.timeout_seconds: expected `float` > 0.0",
        ),
        (
            "[transports.smtp]\nrate_limit_per_second = -1\n",
            {},
            "transports.smtp.rate_limit_per_second",
        ),
        ("[transports.webhook]\ntimeout_seconds = -1\n", {}, "transports.webhook.timeout_seconds"),
        ("[speech]\ngtts_timeout_seconds = 0\n", {}, "speech.gtts_timeout_seconds"),
        ("[server]\nmax_body_mb = -1\n", {}, "server.max_body_mb: expected `float` > 0.0"),
        (
            '[plan.phones.pharmacy]\nlabel = "Rx"\nnumber = "1-800-555-0101"\ndays = "mon-thu"\n'
            '[plan.phones.member_services]\nlabel = "MS"\nnumber = "1-800-555-0100"\n',
            {},
            "plan.phones.pharmacy.days: must be one of 'mon-fri', 'mon-sat', 'mon-sun', not 'mon-thu'",
        ),
    ],
)
def test_out_of_range_values_stop_start_up_naming_key_and_bounds(
    tmp_path: Path, toml: str, env: dict[str, str], message: str
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load(cfg, env=env)
    assert str(caught.value).startswith(message)


def test_environment_overrides_are_typed_like_the_file(tmp_path: Path) -> None:
    env = {
        "COMMHUB_QUIET_HOURS__START": "7:30",
        "COMMHUB_SPEECH__MP3_BITRATE_KBPS": "64",
        "COMMHUB_QUIET_HOURS__ENABLED": "on",
        "COMMHUB_WORKERS__LEASE_SECONDS": "30",
        "COMMHUB_LANGUAGE__RELAY_FOOTER": "short",
    }
    s = load(SHIPPED_ROOT / "config.toml", env=env)
    assert s.quiet_hours.start == time(7, 30) and s.quiet_hours.enabled is True
    assert s.speech.mp3_bitrate_kbps == 64
    assert s.workers.lease_seconds == 30.0
    assert s.language.relay_footer == "short"


def test_a_negative_lease_stops_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[workers]\nlease_seconds = -5\n")
    assert main(["--config", str(cfg), "migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("commhub: workers.lease_seconds: expected `float` >= 1.0, not -5")


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[server\nport = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(cfg, env={})
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.toml", env={})


def test_cli_stops_with_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[transports.smtp]\nport = -1\n")
    assert main(["--config", str(cfg), "migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("commhub: transports.smtp.port") and "Traceback" not in err
