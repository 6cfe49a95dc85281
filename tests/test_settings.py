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
