"""Topic files (templates/topics/*.toml): typed like config.toml, errors name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from commhub.content.topics import load_topic, load_topics
from commhub.errors import ConfigError
from commhub.settings import SHIPPED_ROOT

REFILL = (SHIPPED_ROOT / "templates" / "topics" / "refill_reminder.toml").read_text("utf-8")


def test_the_shipped_topics_load() -> None:
    topics = load_topics(SHIPPED_ROOT / "templates" / "topics")
    assert "refill_reminder" in topics
    assert topics["refill_reminder"].variables["refills_left"].max == 99


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # Each of these loaded before topic files were typed.
        (
            "max_length = 80",
            "max_length = -5",
            "variables.pharmacy_name.max_length: expected `int` >= 1, not -5",
        ),
        (
            "max_length = 80",
            'max_length = 80, required = "no"',
            "variables.pharmacy_name.required: expected `bool`, got `str`, not 'no'",
        ),
        (
            "min = 0, max = 99",
            "min = 50, max = 9",
            "variables.refills_left.max: must be at least min (50), not 9",
        ),
        (
            'description = "A prescription',
            'descripton = "A prescription',
            "descripton: unknown key (known: topic, phone_line",
        ),
        (
            '{ label = "Pharmacy",',
            '{ label = "Pharmacy", lable = "x",',
            "content.facts[1].lable: unknown key",
        ),
        (
            'phone_line = "pharmacy"',
            'phone_line = " "',
            "phone_line: expected `str` matching regex",
        ),
        # ... and these were refused before too; the message now says what is allowed.
        (
            'type = "date"',
            'type = "dat"',
            "variables.refill_date.type: must be one of 'text', 'date', 'time', 'phone', 'money', 'integer', not 'dat'",
        ),
        ('subject = "Time to refill your prescription"', "", "content.subject: is required"),
    ],
)
def test_invalid_topic_file_names_file_key_and_rule(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in REFILL
    path = tmp_path / "refill_reminder.toml"
    path.write_text(REFILL.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_topic(path)
    assert str(caught.value).startswith(f"refill_reminder.toml: {message}")
