"""Messages per second for render + MIME build of large-print emails (target: <= 0.5 ms each).

    .venv/bin/python benchmarks/render_rate.py [--n 20000] [--lang en] [--stdlib]

Renders `refill_reminder` for N members (each a different name and text value, so nothing is
cached per message), through `Renderer.render_sync`: data parsing, language plan, parts,
jinja2 layout, text part and hand-built MIME bytes. `--stdlib` also times building the same
message with `email.message.EmailMessage` (policy.default) for comparison.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from commhub.content.i18n import Catalogs
from commhub.content.topics import load_topics
from commhub.domain import Format, Member
from commhub.render import Renderer
from commhub.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--lang", default="en")
    ap.add_argument("--topic", default="refill_reminder")
    ap.add_argument("--stdlib", action="store_true")
    args = ap.parse_args()
    topics = load_topics(ROOT / "templates" / "topics")
    renderer = Renderer(Settings(root=ROOT), topics, Catalogs.load(ROOT / "templates" / "i18n"))
    sample = topics[args.topic].sample
    members = [
        Member(
            member_id=f"m{i}",
            given_name=f"Given{i}",
            family_name=f"Family{i}",
            language=args.lang,
            format=Format.LARGE_PRINT_EMAIL,
            email=f"member{i}@example.org",
            timezone="America/Los_Angeles",
        )
        for i in range(args.n)
    ]
    text_var = next(n for n, v in topics[args.topic].variables.items() if v.type == "text")
    datas = [{**sample, text_var: f"Place {i}"} for i in range(args.n)]
    renderer.render_sync(args.topic, members[0], datas[0], 0)  # warm the caches
    start = time.perf_counter()
    size = 0
    for i, (m, d) in enumerate(zip(members, datas, strict=True)):
        size += len(renderer.render_sync(args.topic, m, d, i).message.raw)
    elapsed = time.perf_counter() - start
    print(
        f"render + MIME ({args.topic}, {args.lang}): {args.n} messages in {elapsed:.2f} s: "
        f"{args.n / elapsed:,.0f}/s, {elapsed / args.n * 1000:.3f} ms each, "
        f"{size / args.n / 1024:.1f} KiB average"
    )
    # Where the time goes, on one message repeated (constant chunks are encoded once, cached).
    result = renderer.render_sync(args.topic, members[0], datas[0], 1)
    t = topics[args.topic]
    values, _ = t.parse_data(datas[0])
    plan = renderer.plan(t, args.lang)
    prepared = renderer._prepare(t, plan, "print", False)
    parts = renderer._fill(prepared, members[0], values, "print")
    text, html = renderer._bodies(prepared, parts)
    reps = 5000
    stages: dict[str, Callable[[], object]] = {
        "parse data": lambda: t.parse_data(datas[0]),
        "language plan": lambda: renderer.plan(t, args.lang),
        "parts": lambda: renderer._fill(prepared, members[0], values, "print"),
        "html+text slots": lambda: renderer._bodies(prepared, parts),
        "jinja2 (whole)": lambda: renderer.layout.html(parts, "head"),
        "mime build": lambda: renderer.mime.alternative(
            delivery_id=1,
            to="a@example.org",
            subject=result.message.subject,
            message_id="<d@x>",
            lang=args.lang,
            text=text,
            html=html,
        ),
    }
    for name, fn in stages.items():
        s = time.perf_counter()
        for _ in range(reps):
            fn()
        print(f"  {name:16s} {(time.perf_counter() - s) / reps * 1000:.3f} ms")
    if args.stdlib:
        s = time.perf_counter()
        for _ in range(reps // 5):
            msg = EmailMessage(policy=default)
            msg["From"] = "Evergreen Community Health Plan <outreach@evergreen-health.example>"
            msg["To"] = "a@example.org"
            msg["Subject"] = result.message.subject
            msg["Message-ID"] = "<d@x>"
            msg.set_content(result.text)
            msg.add_alternative(result.html or "", subtype="html")
            msg.as_bytes()
        print(
            f"  stdlib EmailMessage build: {(time.perf_counter() - s) / (reps // 5) * 1000:.3f} ms"
        )


if __name__ == "__main__":
    main()
