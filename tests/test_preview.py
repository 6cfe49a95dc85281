"""`commhub preview`: the files written are the message a member would get, and checks run."""

from __future__ import annotations

import email
import email.policy
import io
import json
from pathlib import Path

import pytest

from commhub.preview import main, preview_to_files
from tests.test_render_support import TOPICS, settings


@pytest.mark.parametrize("fmt", ["large_print_email", "relay_text"])
async def test_preview_writes_the_message_and_its_parts(tmp_path: Path, fmt: str) -> None:
    result = await preview_to_files(settings(), "refill_reminder", "en", fmt, None, tmp_path)
    names = sorted(p.name for p in result.files)
    expected = [f"refill_reminder.en.{fmt}.eml", f"refill_reminder.en.{fmt}.txt"]
    if fmt == "large_print_email":
        expected.insert(1, f"refill_reminder.en.{fmt}.html")
    assert names == sorted(expected)
    eml = (tmp_path / f"refill_reminder.en.{fmt}.eml").read_bytes()
    assert eml == result.result.message.raw
    msg = email.message_from_bytes(eml, policy=email.policy.default)
    assert msg["Subject"] is not None and msg.defects == []
    txt = (tmp_path / f"refill_reminder.en.{fmt}.txt").read_text(encoding="utf-8")
    assert "1-800-555-0101" in txt
    # The sample member's name, never a real member (relay text leaves the greeting out
    # when the message would pass 300 characters, TT-7).
    if fmt == "large_print_email":
        assert "Alex" in txt
    assert result.violations == []


async def test_preview_uses_the_data_file(tmp_path: Path) -> None:
    data = {**TOPICS["refill_reminder"].sample, "pharmacy_name": "Oak Avenue Pharmacy"}
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = await preview_to_files(
        settings(), "refill_reminder", "en", "large_print_email", path, tmp_path / "out"
    )
    html = (tmp_path / "out" / "refill_reminder.en.large_print_email.html").read_text()
    assert "Oak Avenue Pharmacy" in html
    assert result.violations == []


@pytest.mark.real
async def test_preview_audio_writes_the_mp3(tmp_path: Path) -> None:
    result = await preview_to_files(settings(), "screening_reminder", "en", "audio", None, tmp_path)
    mp3 = tmp_path / "screening_reminder.en.audio.mp3"
    assert mp3.read_bytes() == result.result.message.audio
    assert mp3.read_bytes()[:3] == b"ID3"
    assert result.violations == []


def test_main_prints_the_files_and_exit_codes(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["coverage_change", "--lang", "en", "--format", "relay_text", "--out", str(tmp_path)],
        settings=settings(),
        stdout=out,
        stderr=err,
    )
    assert code == 0, out.getvalue() + err.getvalue()
    assert f"wrote {tmp_path / 'coverage_change.en.relay_text.eml'}" in out.getvalue()
    assert "all rule checks passed" in out.getvalue()

    bad = tmp_path / "bad.json"
    bad.write_text('{"effective_date": "tomorrow"}', encoding="utf-8")
    code = main(
        ["coverage_change", "--data", str(bad), "--out", str(tmp_path)],
        settings=settings(),
        stdout=out,
        stderr=err,
    )
    assert code == 2 and "effective_date" in err.getvalue()
    code = main(["no_such_topic", "--out", str(tmp_path)], settings=settings(), stderr=err)
    assert code == 2 and "unknown template" in err.getvalue()


@pytest.mark.real
def test_main_names_the_voice_of_an_audio_preview(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    argv = ["screening_reminder", "--lang", "en", "--format", "audio", "--out", str(tmp_path)]
    code = main(argv, settings=settings(), stdout=out, stderr=err)
    assert code == 0, out.getvalue() + err.getvalue()
    assert "voice: piper:en_US-joe-medium (" in out.getvalue()
