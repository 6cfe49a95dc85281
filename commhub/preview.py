"""`commhub preview TEMPLATE --lang L --format F [--data FILE] [--out DIR]`: render to files.

Writes the exact `.eml` a member with that language and format would receive, plus its
`.html`, `.txt` and (audio) `.mp3` parts, from the template's sample data unless `--data`
gives other data, then runs the rule checks and prints the ones that failed. Sample data and
a synthetic member only: no member data is read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from commhub import settings as settings_module
from commhub.checks import Violation, check_message, check_relay, check_speech_text
from commhub.checks.parity import check_parity
from commhub.checks.relay import SPEECH_SECONDS
from commhub.content.i18n import Catalogs
from commhub.content.topics import Topic, load_topics
from commhub.domain import Format
from commhub.errors import CommhubError, NotFound, PolicyHold, RenderError
from commhub.render import Renderer, RenderResult
from commhub.render.large_print import DEFAULT_TEMPLATES
from commhub.render.relay_text import MAX_TOTAL as RELAY_MAX_TOTAL
from commhub.settings import Settings
from commhub.store.base import Store

DEFAULT_OUT = "var/preview"


@dataclass(frozen=True)
class PreviewResult:
    """What a preview wrote and which rule checks failed."""

    files: list[Path]
    violations: list[Violation]
    result: RenderResult
    notes: tuple[str, ...] = field(default=())


def templates_dir(settings: Settings) -> Path:
    """The templates folder next to the config file, else the one shipped with commhub."""
    local = settings.path("templates")
    return local if (local / "topics").is_dir() else DEFAULT_TEMPLATES


def voices_dir(settings: Settings) -> Path:
    local = settings.path("voices")
    return local if local.is_dir() else DEFAULT_TEMPLATES.parent / "voices"


def build_renderer(settings: Settings, *, speech: bool) -> Renderer:
    """A renderer over the configured templates (with the speech service when asked)."""
    root = templates_dir(settings)
    service = None
    if speech:
        from commhub.speech import SpeechService

        service = SpeechService(settings.speech, voices_dir(settings))
    return Renderer(
        settings,
        load_topics(root / "topics"),
        Catalogs.load(root / "i18n"),
        service,
        templates_dir=root,
    )


def read_data(path: Path) -> dict[str, Any]:
    """Template data from a JSON file (an object of variable values)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RenderError(f"data file {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RenderError(f"data file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RenderError(f"data file {path} must hold a JSON object")
    return data


def run_checks(
    renderer: Renderer, topic: str, result: RenderResult, data: Mapping[str, Any] | None = None
) -> list[Violation]:
    """The rule checks that apply to what was rendered, content parity (CP) included, with
    `data` (None: the topic's sample) as the facts it must carry. A crashing checker is
    reported, not raised."""
    try:
        return _checks(renderer, topic, result, data)
    except Exception as exc:  # a checker bug must not hide the files written
        return [Violation("CHECK", f"a rule checker failed: {type(exc).__name__}: {exc}")]


def _checks(
    renderer: Renderer, topic: str, result: RenderResult, data: Mapping[str, Any] | None
) -> list[Violation]:
    message = result.message
    t = renderer.topics[topic]
    parity = check_parity(
        result,
        t,
        t.sample if data is None else data,
        catalogs=renderer.catalogs,
        plan=renderer.settings.plan,
        # CP-3 in email: the change-or-stop link, when unsubscribe links are on (a preview
        # is delivery 0 of no campaign).
        link=renderer.unsubscribe_url((message.delivery_id, "")),
    )
    if message.format is Format.RELAY_TEXT:
        # TT-7's 600 characters yield where the facts alone are longer (CP-1; noted).
        facts_win = any("CP-1 wins over TT-7" in n for n in result.notes)
        relay = check_relay(
            result.text,
            tty_encodable=message.tty_encodable,
            lang=result.lang,
            max_chars=None if facts_win or not message.tty_encodable else RELAY_MAX_TOTAL,
        )
        if result.tty_text is not None:  # the romanised alternative is TTY-safe Latin
            relay += check_relay(
                result.tty_text, tty_encodable=True, lang=f"{result.lang}-Latn", max_chars=None
            )
        return relay + parity
    violations = check_message(message.raw)
    if result.spoken is not None:
        line = renderer.settings.plan.phones.get(t.phone_line)
        # TS-8 on the measured audio, not a words-per-minute estimate; it yields where the
        # facts alone are longer (CP-1; the renderer notes it).
        violations += check_speech_text(
            result.spoken,
            lang=result.lang,
            callback_number=line.number if line else None,
            wpm=renderer.settings.speech.rate_wpm,
            max_seconds=float("inf"),
        )
        facts_win = any("CP-1 wins over TS-8" in n for n in result.notes)
        seconds = result.audio.duration_s if result.audio is not None else 0.0
        if seconds > SPEECH_SECONDS and not facts_win:
            violations.append(
                Violation(
                    "TS-8", f"the audio is {seconds:.0f} s; keep it under {SPEECH_SECONDS:.0f} s"
                )
            )
    return violations + parity


async def preview_to_files(
    settings: Settings,
    topic: str,
    lang: str,
    fmt: str,
    data_path: Path | None,
    out_dir: Path,
    *,
    renderer: Renderer | None = None,
) -> PreviewResult:
    """Render one template in one language and format to files in `out_dir` and check it."""
    renderer = renderer or build_renderer(settings, speech=fmt == Format.AUDIO.value)
    data = read_data(data_path) if data_path is not None else None
    result = await renderer.render_preview(topic, lang, fmt, data)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{topic}.{lang}.{fmt}"
    files: list[Path] = []

    def write(suffix: str, content: bytes) -> None:
        path = out_dir / f"{stem}.{suffix}"
        path.write_bytes(content)
        files.append(path)

    write("eml", result.message.raw)
    if result.html is not None:
        write("html", result.html.encode("utf-8"))
    write("txt", result.text.encode("utf-8"))
    if result.audio is not None:
        write("mp3", result.audio.mp3)
    return PreviewResult(files, run_checks(renderer, topic, result, data), result, result.notes)


async def campaign_preview(
    settings: Settings,
    store: Store,
    campaign_id: str,
    lang: str,
    fmt: str,
    data_path: Path | None,
    out_dir: Path | None,
    out: TextIO | None = None,
) -> int:
    """`commhub preview --campaign ID`: what the campaign sends, rendered from the content it
    pinned at creation (sample data unless `--data`), written to files and checked."""
    from commhub.content.pinned import ContentFiles
    from commhub.pinning import CampaignRenderers

    out = out or sys.stdout
    campaign = await store.get_campaign(campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id!r}")
    speech = None
    if fmt == Format.AUDIO.value:
        from commhub.speech import SpeechService

        speech = SpeechService(settings.speech, voices_dir(settings))
    root = templates_dir(settings)
    current = build_renderer(settings, speech=False)

    def build(topics: Mapping[str, Topic], catalogs: Catalogs) -> Renderer:
        return Renderer(settings, topics, catalogs, speech, templates_dir=root)

    renderers = CampaignRenderers(current, ContentFiles.read(root), store, build)
    renderer = await renderers.for_campaign(campaign.id, campaign.template)
    if renderer is current:
        renderer = build(current.topics, current.catalogs)  # the loaded content, with speech
    pinned = campaign.content_hash or "not pinned (created before pinning): the current files"
    print(f"campaign {campaign.id} ({campaign.template}), content {pinned}", file=out)
    preview = await preview_to_files(
        settings,
        campaign.template,
        lang,
        fmt,
        data_path,
        out_dir or settings.path(DEFAULT_OUT) / campaign.id,
        renderer=renderer,
    )
    for path in preview.files:
        print(f"wrote {path}", file=out)
    for v in preview.violations:
        print(f"  {v.rule}: {v.message}", file=out)
    return 1 if preview.violations else 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="commhub preview",
        description="Render a template to files (.eml, .html, .txt, .mp3) and check the rules.",
    )
    p.add_argument("template", help="topic name, e.g. refill_reminder")
    p.add_argument("--lang", default="en", help="language tag (default: en)")
    p.add_argument(
        "--format",
        dest="fmt",
        default=Format.LARGE_PRINT_EMAIL.value,
        choices=[f.value for f in Format],
        help="message format (default: large_print_email)",
    )
    p.add_argument("--data", type=Path, help="JSON file with the template data (default: sample)")
    p.add_argument("--out", type=Path, default=None, help=f"output folder (default: {DEFAULT_OUT})")
    p.add_argument("--config", default=None, help="config file (default: ./config.toml)")
    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run `commhub preview`: 0 when every check passed, 1 when some failed, 2 on errors."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        s = settings or settings_module.load(args.config)
        out_dir = args.out or s.path(DEFAULT_OUT)
        preview = asyncio.run(
            preview_to_files(s, args.template, args.lang, args.fmt, args.data, out_dir)
        )
    except PolicyHold as exc:
        print(f"held: {exc.reason}", file=err)
        return 2
    except CommhubError as exc:
        print(f"error: {exc}", file=err)
        return 2
    for path in preview.files:
        print(f"wrote {path}", file=out)
    audio = preview.result.audio
    if audio is not None:
        print(f"voice: {audio.engine}:{audio.voice} ({audio.duration_s:.1f} s)", file=out)
    for note in preview.notes:
        print(f"note: {note}", file=out)
    if preview.violations:
        print(f"{len(preview.violations)} rule check(s) failed:", file=out)
        for v in preview.violations:
            print(f"  {v.rule}: {v.message}", file=out)
        return 1
    print("all rule checks passed", file=out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
