"""The render pipeline: (topic, member, data, delivery id) -> the exact message to send.

One `Renderer` per process, built with the settings, topics, catalogs and (for audio) the
speech service. Everything that depends only on (topic, language, output kind) — translated
strings, the contact block, notices, the LA-3 footer — is prepared once and cached; each
message then fills in the member's name and values, renders the layout and writes the MIME
bytes by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from html import escape as html_escape
from pathlib import Path
from typing import Any

from commhub.content import strings
from commhub.content.i18n import (
    ENGLISH,
    Catalogs,
    LanguagePlan,
    fallback_tagline,
    language_help_lines,
    machine_notice,
    plan_language,
    relay_help_lines,
)
from commhub.content.topics import Topic
from commhub.content.variables import Phone
from commhub.delivery_tokens import VERP_PREFIX, DeliveryTokens, Purpose
from commhub.domain import Format, Member, OutgoingMessage, message_id_for
from commhub.errors import PolicyHold, RenderError
from commhub.languages import LANGUAGES, display_name
from commhub.render.chunked import ChunkedBody, Filled
from commhub.render.large_print import (
    DEFAULT_TEMPLATES,
    LargePrintLayout,
    SlottedHead,
    head_shape,
    text_head,
    text_part,
    text_tail,
)
from commhub.render.message_parts import MEMBER_SERVICES, Parts, Passage, Prepared, prepare
from commhub.render.mime import Envelope, MimeBuilder, header_safe
from commhub.render.relay_text import MAX_TOTAL as RELAY_MAX_TOTAL
from commhub.render.relay_text import relay_text, romanized, to_tty
from commhub.render.romanize import can_romanize
from commhub.render.speech_text import MAX_SECONDS, speech_text, speech_variants
from commhub.render.values import Kind, write_values
from commhub.settings import Settings
from commhub.speech import NoVoice, SpeechService, SpokenAudio
from commhub.speech.spoken import SpeechStyle
from commhub.speech.voices import GTTS

log = logging.getLogger(__name__)

TTY_HEADER = "X-Commhub-TTY-Encodable"
PREVIEW_EMAIL = "member@example.org"
# (delivery id, campaign id): what a message's Message-ID and MIME boundaries derive from.
DeliveryKey = tuple[int, str]


@dataclass(frozen=True)
class RenderResult:
    """One rendered message and what the renderer decided on the way."""

    message: OutgoingMessage
    lang: str  # language of the message text
    fallback: bool  # English instead of the member's language (language_fallback)
    machine: bool  # unreviewed machine translation sent with the LA-2 notice
    notes: tuple[str, ...] = ()
    # The text/html part, if any, as given to MimeBuilder: a whole string, or a chunked body
    # whose ~15 KB of text is joined only when `html` is read (previews and checks read it; a
    # worker sends `message.raw` only).
    html_part: str | Filled | None = None
    text: str = ""  # the text/plain part (relay: the relay text)
    spoken: str | None = None  # audio: the text given to the speech engine (= transcript)
    audio: SpokenAudio | None = None
    core_chars: int | None = None  # relay: characters before the LA-3 footer (TT-7)
    optional_lines: int | None = None  # relay: greeting/paragraph lines that fitted in
    tty_text: str | None = None  # relay in Cyrillic: the romanised TTY-safe alternative
    extras: dict[str, str] = field(default_factory=dict)

    @cached_property
    def html(self) -> str | None:
        """The text/html part, if any."""
        part = self.html_part
        return part if part is None or isinstance(part, str) else part.text()


@dataclass(frozen=True)
class _HtmlBody:
    body: ChunkedBody
    slotted: SlottedHead | None  # None: the whole head is one slot


# Where the unsubscribe link goes in a body's constant tail: split there into one more slot.
_URL_SLOT = "\x00stop-url\x00"


def _split_slot(pieces: tuple[str, ...], tail: str) -> tuple[tuple[str, ...], str]:
    """`pieces` and `tail` of a ChunkedBody, with the tail cut at `_URL_SLOT` (if there) into
    a last piece and a slot: one slot more."""
    if _URL_SLOT not in tail:
        return pieces, tail
    before, after = tail.split(_URL_SLOT, 1)
    return (*pieces[:-1], pieces[-1] + before, ""), after


def _is_tty_language(tag: str) -> bool:
    lang = LANGUAGES.get(tag)
    return bool(lang and lang.tty_encodable)


class Renderer:
    """Renders every topic in every language and format; build once, call `render` per message."""

    def __init__(
        self,
        settings: Settings,
        topics: Mapping[str, Topic],
        catalogs: Catalogs,
        speech: SpeechService | None = None,
        *,
        templates_dir: Path = DEFAULT_TEMPLATES,
    ) -> None:
        self.settings = settings
        self.topics = dict(topics)
        # Readiness and the translators follow `language.require` (reviewed or certified).
        self.catalogs = catalogs.requiring(settings.language.require)
        self.speech = speech
        self.layout = LargePrintLayout(templates_dir)
        plan = settings.plan
        self.mime = MimeBuilder(plan.name, plan.from_address, plan.reply_to)
        secret = settings.unsubscribe.secret
        self.tokens = DeliveryTokens(secret) if secret else None
        self._unsubscribe_base = settings.server.public_url.rstrip("/") + "/u/"
        self._prepared: dict[tuple[Any, ...], Prepared] = {}
        # Per prepared (topic, language, kind) and head shape: the HTML and text bodies as
        # constant chunks (markup, contact block, LA-3 footer) encoded once, with slots for
        # what each member's message says (chunked.ChunkedBody).
        self._html_bodies: dict[tuple[int, tuple[object, ...], bool], _HtmlBody] = {}
        self._text_bodies: dict[tuple[int, bool], ChunkedBody] = {}
        self._msgids = {name: self.message_msgids(t) for name, t in self.topics.items()}

    @staticmethod
    def message_msgids(topic: Topic) -> list[str]:
        """Every string a message of `topic` uses: a language is ready only if all are."""
        line_names = set(strings.LINE_NAMES.values())
        shared = [s for s in strings.SHARED if s not in line_names]
        own_line = strings.LINE_NAMES.get(topic.phone_line)
        return [*topic.msgids(), *shared, *([own_line] if own_line else [])]

    # -- preparation (once per topic, language plan and output kind) ---------------------

    def _footer(self, kind: Kind, member_lang: str, number: str) -> list[Passage]:
        """The LA-3 language-help lines for `kind`, each in its own language.

        Relay text (`language.relay_footer = "short"`, the default) carries one short line in
        the member's language and one in English: each full footer line costs a TTY reader
        about 40 seconds at 45.45 baud (TT-7). `"full"` gives relay text the whole footer
        (for IP relay and text apps). In relay text every number is followed by TTY 711 (TT-6).
        """
        lang = self.settings.language
        if kind == "relay" and lang.relay_footer == "short":
            lines = relay_help_lines(self.catalogs, member_lang, number, "711")
        else:
            shown = f"{number} TTY 711" if kind == "relay" else number
            lines = language_help_lines(self.catalogs, member_lang, lang.footer_languages, shown)
        return [Passage(tag, text) for tag, text in lines]

    def _help_number(self, topic: Topic, key: str) -> str:
        line = self.settings.plan.phones.get(key) or self.settings.plan.phones.get(topic.phone_line)
        if line is None:
            raise RenderError(f"{topic.name}: no phone line configured for language help")
        try:
            return Phone.parse(line.number).printed()
        except ValueError as exc:
            raise RenderError(f"phone line {key!r}: {exc}") from None

    def _prepare(
        self,
        topic: Topic,
        plan: LanguagePlan,
        kind: Kind,
        tty: bool,
        style: SpeechStyle = "espeak",
    ) -> Prepared:
        key = (
            topic.name,
            plan.lang,
            plan.member_lang,
            plan.fallback,
            plan.machine,
            kind,
            tty,
            style,
        )
        prepared = self._prepared.get(key)
        if prepared is not None:
            return prepared
        # Language help is always Member Services (interpreters), never the topic's line.
        number = self._help_number(topic, MEMBER_SERVICES)
        notices: list[Passage] = []
        if plan.fallback:
            tagline = fallback_tagline(self.catalogs, plan.member_lang, number)
            if tagline is not None:
                notices.append(Passage(*tagline))
        if plan.machine:
            notices.append(Passage(*machine_notice(self.catalogs, plan.lang, number)))
        footer = self._footer(kind, plan.member_lang, number)
        if kind == "relay" and notices and self.settings.language.relay_footer == "short":
            # The tagline above already offers help in the member's language: on a TTY, the
            # same offer again would cost ~10 seconds for nothing (TT-7).
            footer = [f for f in footer if f.lang == ENGLISH]
        if tty:  # a TTY-safe relay message carries only what a TTY can show (TT-1)
            notices = [n for n in notices if _is_tty_language(n.lang)]
            footer = [f for f in footer if _is_tty_language(f.lang)]
        prepared = prepare(
            topic,
            plan.translator,
            plan.lang,
            kind,
            self.settings.plan,
            notices=tuple(notices),
            footer=tuple(footer),
            speech_style=style,
        )
        self._prepared[key] = prepared
        return prepared

    # -- one message -----------------------------------------------------------------------

    def _parse(self, topic_name: str, data: Any) -> tuple[Topic, dict[str, Any]]:
        topic = self.topics.get(topic_name)
        if topic is None:
            raise RenderError(f"unknown template {topic_name!r}")
        values, problems = topic.parse_data(data)
        if problems:
            detail = "; ".join(f"{p.field} {p.reason}" for p in problems)
            raise RenderError(f"{topic_name}: invalid data: {detail}")
        return topic, values

    def plan(self, topic: Topic, member_lang: str) -> LanguagePlan:
        """The language plan for a member's language (PolicyHold when `block` applies)."""
        return plan_language(
            self.catalogs,
            self._msgids[topic.name],
            member_lang,
            self.settings.language.policy,
            topic=topic.name,
        )

    async def render(
        self,
        topic: str,
        member: Member,
        data: Mapping[str, Any],
        delivery_id: int,
        campaign_id: str = "",
    ) -> RenderResult:
        """Render one delivery (of `campaign_id`; "" for a preview). Raises RenderError (bad
        data) or PolicyHold (hold it)."""
        if member.format is not Format.AUDIO:
            return self.render_sync(topic, member, data, delivery_id, campaign_id)
        t, values = self._parse(topic, data)
        plan = self.plan(t, member.language)
        return await self._audio(t, member, values, plan, (delivery_id, campaign_id))

    def render_sync(
        self,
        topic: str,
        member: Member,
        data: Mapping[str, Any],
        delivery_id: int,
        campaign_id: str = "",
    ) -> RenderResult:
        """`render` for large print and relay text, without an event loop (no audio)."""
        if member.format is Format.AUDIO:
            raise RenderError("audio needs the async render (speech runs in a thread)")
        t, values = self._parse(topic, data)
        plan = self.plan(t, member.language)
        if member.format is Format.RELAY_TEXT:
            return self._relay(t, member, values, plan, (delivery_id, campaign_id))
        return self._large_print(t, member, values, plan, (delivery_id, campaign_id))

    def _name(self, member: Member) -> str:
        return display_name(member.given_name, member.family_name, member.language)

    def _fill(
        self, prepared: Prepared, member: Member, values: dict[str, Any], kind: Kind
    ) -> Parts:
        counts = {k: v for k, v in values.items() if isinstance(v, int)}
        written = write_values(values, prepared.lang, kind, prepared.speech_style)
        return prepared.fill(self._name(member), written, counts)

    def _email_to(self, member: Member) -> str:
        if not member.email:
            raise RenderError(f"member {member.member_id} has no email address")
        return member.email

    def _envelope(
        self,
        key: DeliveryKey,
        to: str,
        subject: str,
        plan: LanguagePlan,
        topic: Topic,
        *,
        unsubscribe: bool = True,
    ) -> Envelope:
        """The header fields every format's message shares.

        Feedback-ID (campaign:topic:plan) lets a mailbox provider's complaint reports name
        the campaign; List-Unsubscribe (RFC 2369) with List-Unsubscribe-Post (RFC 8058) give
        the member's mail program a one-click unsubscribe button.
        """
        delivery_id, campaign_id = key
        extra = {
            "Feedback-ID": (
                f"{campaign_id or 'preview'}:{topic.name}:{self.settings.plan.feedback_id}"
            )
        }
        link = self.unsubscribe_url(key)
        if unsubscribe and link is not None:
            mailto = self.settings.unsubscribe.mailto
            extra["List-Unsubscribe"] = (
                f"<{link}>, <mailto:{mailto}?subject=unsubscribe>" if mailto else f"<{link}>"
            )
            extra["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return Envelope(
            delivery_id=delivery_id,
            to=to,
            subject=subject,
            message_id=message_id_for(delivery_id, self.settings.server.base_domain, campaign_id),
            lang=plan.lang,
            extra=extra,
        )

    def unsubscribe_url(self, key: DeliveryKey) -> str | None:
        """The member's unsubscribe page for this delivery, or None when links are off."""
        if self.tokens is None:
            return None
        return self._unsubscribe_base + self.tokens.make(Purpose.UNSUBSCRIBE, *key)

    def envelope_sender(self, key: DeliveryKey) -> str:
        """The SMTP envelope sender: VERP `bounces+<token>@<bounces.domain>`, so a bounce
        names its delivery; the From address when no bounce domain (or no secret) is set."""
        domain = self.settings.bounces.domain
        if not domain or self.tokens is None:
            return self.settings.plan.from_address
        return f"{VERP_PREFIX}{self.tokens.make(Purpose.BOUNCE, *key)}@{domain}"

    def _result(
        self,
        *,
        plan: LanguagePlan,
        envelope: Envelope,
        sender: str,
        fmt: Format,
        raw: bytes,
        text: str,
        notes: list[str],
        html: str | Filled | None = None,
        spoken: str | None = None,
        audio: SpokenAudio | None = None,
        tty: bool = True,
        core_chars: int | None = None,
        optional_lines: int | None = None,
        tty_text: str | None = None,
    ) -> RenderResult:
        if plan.fallback:
            notes.append(f"language fallback: {plan.lang} instead of {plan.member_lang}")
        if plan.machine:
            notes.append(f"unreviewed machine translation ({plan.lang}) sent with a notice")
        meta = {"language_fallback": "yes" if plan.fallback else "no"}
        if audio is not None:
            meta["voice"] = f"{audio.engine}:{audio.voice}"
        message = OutgoingMessage(
            delivery_id=envelope["delivery_id"],
            message_id=envelope["message_id"],
            sender=sender,
            recipients=(envelope["to"],),
            raw=raw,
            format=fmt,
            language=plan.lang,
            subject=envelope["subject"],
            tty_encodable=tty,
            audio=audio.mp3 if audio else None,
            text=spoken if spoken is not None else text,
            meta=meta,
            crlf_lines=True,  # MimeBuilder's output (tests/test_render_mime.py checks it)
        )
        return RenderResult(
            message=message,
            lang=plan.lang,
            fallback=plan.fallback,
            machine=plan.machine,
            notes=tuple(notes),
            html_part=html,
            text=text,
            spoken=spoken,
            audio=audio,
            core_chars=core_chars,
            optional_lines=optional_lines,
            tty_text=tty_text,
        )

    def _bodies(
        self, prepared: Prepared, parts: Parts, url: str | None = None
    ) -> tuple[Filled, Filled]:
        """The (text, html) bodies of a large-print message, as chunks and slots.

        With an unsubscribe `url`, the link after the change-or-stop sentence (CP-3) is one
        more slot, in the tail that is otherwise the same for every member of a language.
        """
        key = (id(prepared), head_shape(parts), url is not None)
        marked = parts
        if url is not None:
            label = prepared.translator.gettext(strings.STOP_ONLINE)
            marked = replace(parts, stop_url=_URL_SLOT, stop_label=label)
        html = self._html_bodies.get(key)
        if html is None:
            slotted = self.layout.slotted_head(parts)
            tail = self.layout.html(marked, "tail")
            if slotted is None:  # pragma: no cover - a layout showing a field twice
                pieces, rest = _split_slot(("", ""), tail)
                html = self._html_bodies[key] = _HtmlBody(ChunkedBody(pieces, rest), None)
            else:
                pieces, rest = _split_slot(slotted.pieces, tail)
                html = self._html_bodies[key] = _HtmlBody(ChunkedBody(pieces, rest), slotted)
        if html.slotted is None:  # pragma: no cover
            html_slots: tuple[str, ...] = (self.layout.html(parts, "head"),)
        else:
            html_slots = html.slotted.slots(parts)
        text_key = (id(prepared), url is not None)
        text = self._text_bodies.get(text_key)
        if text is None:
            pieces, rest = _split_slot(("", ""), text_tail(marked))
            text = self._text_bodies[text_key] = ChunkedBody(pieces, rest)
        text_slots: tuple[str, ...] = (text_head(parts),)
        if url is not None:
            html_slots += (html_escape(url, quote=True),)
            text_slots += (url,)
        return Filled(text, text_slots), Filled(html.body, html_slots)

    def _large_print(
        self,
        topic: Topic,
        member: Member,
        values: dict[str, Any],
        plan: LanguagePlan,
        key: DeliveryKey,
        notes: list[str] | None = None,
    ) -> RenderResult:
        prepared = self._prepare(topic, plan, "print", False)
        parts = self._fill(prepared, member, values, "print")
        text, html = self._bodies(prepared, parts, self.unsubscribe_url(key))
        envelope = self._envelope(key, self._email_to(member), parts.subject, plan, topic)
        raw = self.mime.alternative(text=text, html=html, **envelope)
        return self._result(
            plan=plan,
            envelope=envelope,
            sender=self.envelope_sender(key),
            fmt=Format.LARGE_PRINT_EMAIL,
            raw=raw,
            text=text.text(),
            html=html,
            notes=notes or [],
        )

    def spoken_text(
        self, topic: Topic, member: Member, values: dict[str, Any], plan: LanguagePlan
    ) -> tuple[str, tuple[str, ...]]:
        """The text to speak and its sentences (the transcript).

        Phone numbers are written for the engine the speech service will use first (TS-2).
        """
        segments = self.spoken_variants(topic, member, values, plan)[0]
        return speech_text(segments), segments

    def spoken_variants(
        self, topic: Topic, member: Member, values: dict[str, Any], plan: LanguagePlan
    ) -> list[tuple[str, ...]]:
        """The spoken sentences, longest acceptable variant first (see speech_variants)."""
        prepared = self._prepare(topic, plan, "speech", False, self._speech_style(plan.lang))
        parts = self._fill(prepared, member, values, "speech")
        return speech_variants(prepared, parts, self._name(member))

    def _speech_style(self, lang: str) -> SpeechStyle:
        choice = self.speech.voice_for(lang) if self.speech is not None else None
        if choice is not None and choice.candidates and choice.candidates[0].engine == GTTS:
            return "gtts"
        return "espeak"

    def transcript_html(
        self,
        topic: Topic,
        member: Member,
        values: dict[str, Any],
        plan: LanguagePlan,
        key: DeliveryKey,
    ) -> str:
        """The HTML an audio message carries as its transcript (TS-6), for its longest
        spoken variant, without synthesising speech (client-support checks of every render)."""
        segments = self.spoken_variants(topic, member, values, plan)[0]
        printed = self._fill(self._prepare(topic, plan, "print", False), member, values, "print")
        return self.layout.html(self._transcript(printed, segments, plan, key))

    def _transcript(
        self, printed: Parts, segments: tuple[str, ...], plan: LanguagePlan, key: DeliveryKey
    ) -> Parts:
        """The large-print parts of an audio message's transcript: the spoken sentences, and
        the unsubscribe link when links are on (CP-3)."""
        attached = plan.translator.gettext(strings.AUDIO_ATTACHED)
        transcript = replace(
            printed,
            greeting="",
            paragraphs=(attached, *segments),
            html=None,
            facts=(),
            action="",
            thanks="",
            change_line="",  # spoken, so it is among the transcript's sentences
        )
        url = self.unsubscribe_url(key)
        if url is not None:
            label = plan.translator.gettext(strings.STOP_ONLINE)
            transcript = replace(transcript, stop_url=url, stop_label=label)
        return transcript

    async def _audio(
        self,
        topic: Topic,
        member: Member,
        values: dict[str, Any],
        plan: LanguagePlan,
        key: DeliveryKey,
    ) -> RenderResult:
        variants = self.spoken_variants(topic, member, values, plan)
        print_prepared = self._prepare(topic, plan, "print", False)
        printed = self._fill(print_prepared, member, values, "print")
        notes: list[str] = []
        try:
            if self.speech is None:
                raise NoVoice(plan.lang, "no speech service is configured")
            # TS-8: measured, not estimated; a shorter variant when the voice runs long.
            index, audio = await self.speech.speak_fitting(
                [speech_text(v) for v in variants], plan.lang, printed.subject, MAX_SECONDS
            )
            segments = variants[index]
            if audio.duration_s > MAX_SECONDS:
                notes.append(
                    f"audio is {audio.duration_s:.0f} s: its facts alone exceed the "
                    f"~{MAX_SECONDS:.0f} s goal (CP-1 wins over TS-8)"
                )
        except NoVoice:
            reason = f"no voice for {plan.lang}"
            if self.settings.speech.no_voice_policy == "hold":
                clears = f'add a voice for {plan.lang} or set speech.no_voice_policy = "fallback"'
                raise PolicyHold(reason=reason, clears=clears) from None
            notes.append(f"{reason}: sent the transcript as large print")
            return self._large_print(topic, member, values, plan, key, notes)
        if audio.fell_back:
            notes.append(f"speech fell back to {audio.engine}:{audio.voice}")
        transcript = self._transcript(printed, segments, plan, key)
        html = self.layout.html(transcript)
        text = text_part(transcript)
        envelope = self._envelope(key, self._email_to(member), printed.subject, plan, topic)
        raw = self.mime.with_audio(text=text, html=html, mp3=audio.mp3, **envelope)
        return self._result(
            plan=plan,
            envelope=envelope,
            sender=self.envelope_sender(key),
            fmt=Format.AUDIO,
            raw=raw,
            text=text,
            html=html,
            spoken=speech_text(segments),
            audio=audio,
            notes=notes,
        )

    def _relay(
        self,
        topic: Topic,
        member: Member,
        values: dict[str, Any],
        plan: LanguagePlan,
        key: DeliveryKey,
    ) -> RenderResult:
        # The text's language decides (TT-9): English sent as a fallback is TTY-safe, and a
        # tagline in a script a TTY cannot show is left out of it.
        tty = _is_tty_language(plan.lang)
        parts = self._fill(self._prepare(topic, plan, "relay", tty), member, values, "relay")
        relay = relay_text(parts, tty)
        to = member.relay_address or member.email
        if not to:
            raise RenderError(f"member {member.member_id} has no relay address or email")
        subject = to_tty(parts.subject) if tty else header_safe(parts.subject, "Subject")
        # Relay text goes to a relay service or SMS gateway, which shows no unsubscribe button.
        envelope = self._envelope(key, to, subject, plan, topic, unsubscribe=False)
        # TT-9: Cyrillic also goes romanised, TTY-safe, as the first alternative ("romanized");
        # other scripts a TTY cannot print ("no") are counted per campaign for a 711 call.
        romanised = None if tty or not can_romanize(plan.lang) else romanized(parts, plan.lang)
        tty_header = "yes" if tty else "romanized" if romanised else "no"
        envelope["extra"] = {**(envelope.get("extra") or {}), TTY_HEADER: tty_header}
        tty_text = relay_text(romanised, True).text if romanised else None
        if tty_text is not None:
            raw = self.mime.plain_pair(tty_text=tty_text, text=relay.text, **envelope)
        else:
            raw = self.mime.plain(text=relay.text, ascii_only=tty, **envelope)
        notes = []
        if relay.required_chars > RELAY_MAX_TOTAL and tty:
            notes.append(
                f"relay text is {len(relay.text)} characters: its facts alone exceed the "
                f"{RELAY_MAX_TOTAL}-character goal (CP-1 wins over TT-7)"
            )
        return self._result(
            plan=plan,
            envelope=envelope,
            sender=self.envelope_sender(key),
            fmt=Format.RELAY_TEXT,
            raw=raw,
            text=relay.text,
            notes=notes,
            tty=tty,
            core_chars=relay.core_chars,
            optional_lines=relay.optional_lines,
            tty_text=tty_text,
        )

    # -- previews --------------------------------------------------------------------------

    def preview_member(self, topic: str, lang: str, fmt: Format | str) -> Member:
        """A synthetic member with the topic's sample names (no member data in previews)."""
        t = self.topics.get(topic)
        if t is None:
            raise RenderError(f"unknown template {topic!r}")
        if lang not in LANGUAGES:
            raise RenderError(f"unknown language {lang!r}")
        try:
            format_ = Format(fmt)
        except ValueError:
            raise RenderError(f"unknown format {fmt!r}") from None
        return Member(
            member_id="preview",
            given_name=t.sample_member.get("given_name", "Alex"),
            family_name=t.sample_member.get("family_name", ""),
            language=lang,
            format=format_,
            email=PREVIEW_EMAIL,
            timezone="America/Los_Angeles",
        )

    async def render_preview(
        self, topic: str, lang: str, fmt: Format | str, data: Mapping[str, Any] | None = None
    ) -> RenderResult:
        """Render the message a member with `lang` and `fmt` would get, from the sample data."""
        member = self.preview_member(topic, lang, fmt)
        sample = data if data is not None else self.topics[topic].sample
        return await self.render(topic, member, sample, delivery_id=0)
