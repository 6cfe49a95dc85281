"""Audio messages: synthesize + encode (MP3) + send, with distinct and repeated texts.

    .venv/bin/python -m benchmarks.audio_throughput [--n 500] [--n-neural 100]

Campaigns of audio-format members, each run by one fresh `commhub worker` process (SQLite,
SMTP to `smtp-sink`):
- English, every text different (names and refill dates vary): the neural voice (Piper);
  the sentences every member hears come from the sentence cache, the member's own are
  synthesized; target >= 2 distinct messages/s on this 2-core machine;
- Spanish, every text different: espeak-ng (the engine of languages without a packaged
  neural voice); target >= 10 distinct messages/s per worker process;
- English, every text the same: one synthesis, then the message cache answers.
Printed: messages/s per process (first claim to last outcome, from the store's timestamps),
worker CPU per message, and the cache's effect.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, timedelta
from typing import Any

from benchmarks.common import (
    DATA,
    commhub,
    cpu_seconds,
    database,
    enqueue,
    header,
    machine,
    make_members,
    run,
    send_window,
    smtp_section,
    stop,
    wait_done,
    workdir,
    write_config,
)
from benchmarks.smtp_raw import smtp_sink
from commhub.domain import Format


def campaign(n: int, distinct: bool, smtp: tuple[str, int], language: str) -> dict[str, float]:
    members = make_members(n, fmt=Format.AUDIO, language=language)
    if distinct:
        first = date(2026, 12, 1)
        data = [
            {**DATA, "refill_date": (first + timedelta(days=i)).isoformat(), "refills_left": i % 7}
            for i in range(n)
        ]
    else:
        # The same name and data for everyone: every spoken text is identical.
        from dataclasses import replace

        members = [replace(m, given_name="Alex", family_name="Rivera") for m in members]
        data = [dict(DATA) for _ in range(n)]
    label = f"{language} {'distinct' if distinct else 'repeated'}"
    with workdir(f"audio-{label.replace(' ', '-')}") as folder, database("sqlite", folder) as url:
        config = write_config(folder, url, **smtp_section(*smtp), workers={"poll_seconds": 0.05})
        campaign_id = run(enqueue(url, members, data))
        started = time.perf_counter()
        proc = commhub(config, "worker", log=folder / "worker.log")
        try:
            final = run(wait_done(url, campaign_id, [proc]))
            cpu = cpu_seconds(proc.pid)
        except Exception:
            print((folder / "worker.log").read_text(errors="replace")[-2000:])
            raise
        finally:
            stop([proc])
        wall = time.perf_counter() - started
        window = run(send_window(url, campaign_id))
    if final.get("sent") != n:
        print(f"  warning: {label}: not all sent: {final}")
    r = {"rate": n / window, "window": window, "cpu_ms": cpu * 1000 / n, "wall": wall}
    print(
        f"{label:11}: {n} audio messages in {window:.1f} s = {r['rate']:,.1f} messages/s "
        f"(one process), {r['cpu_ms']:.1f} ms worker CPU/message"
    )
    return r


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="espeak-ng and repeated campaigns")
    parser.add_argument("--n-neural", type=int, default=100, help="the Piper campaign")
    args = parser.parse_args(argv)
    header(
        f"Audio: {args.n_neural} English (Piper) + {args.n} Spanish (espeak-ng) distinct, "
        f"{args.n} English repeated audio messages (speech + MP3 + SMTP); {machine()}"
    )
    with smtp_sink() as smtp:
        neural = campaign(args.n_neural, True, smtp, "en")
        espeak = campaign(args.n, True, smtp, "es")
        repeated = campaign(args.n, False, smtp, "en")
    cores = os.cpu_count() or 1
    print(
        f"neural English (Piper): {neural['rate']:.1f} distinct messages/s (target >= 2 on 2 "
        f"cores; its CPU per message allows {cores * 1000 / neural['cpu_ms']:.1f}/s on "
        f"{cores} idle cores); espeak-ng (Spanish): {espeak['rate']:.1f} distinct messages/s "
        f"per process (target >= 10); repeated English texts "
        f"{repeated['rate'] / neural['rate']:.1f}x the neural distinct rate"
    )
    return {"neural": neural, "espeak": espeak, "repeated": repeated}


if __name__ == "__main__":
    main()
