"""Audio messages: synthesize (espeak-ng) + encode (MP3) + send, with distinct and repeated texts.

    .venv/bin/python -m benchmarks.audio_throughput [--n 500]

Two campaigns of N audio-format members, each run by one fresh `commhub worker` process
(SQLite, SMTP to `smtp-sink`): one where every message's text differs (names and refill
dates vary, so every message is synthesized), one where every message is the same text (one
synthesis, then the speech cache answers). Printed: messages/s per process (first claim to
last outcome, from the store's timestamps), worker CPU per message, message size, and the
cache's effect. Target: >= 10 distinct audio messages/s per worker process.
"""

from __future__ import annotations

import argparse
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


def campaign(n: int, distinct: bool, smtp: tuple[str, int]) -> dict[str, float]:
    members = make_members(n, fmt=Format.AUDIO)
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
    label = "distinct" if distinct else "repeated"
    with workdir(f"audio-{label}") as folder, database("sqlite", folder) as url:
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
        f"{label:8}: {n} audio messages in {window:.1f} s = {r['rate']:,.1f} messages/s "
        f"(one process), {r['cpu_ms']:.1f} ms worker CPU/message"
    )
    return r


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args(argv)
    header(f"Audio: {args.n} + {args.n} audio messages (espeak-ng + MP3 + SMTP); {machine()}")
    with smtp_sink() as smtp:
        distinct = campaign(args.n, True, smtp)
        repeated = campaign(args.n, False, smtp)
    print(
        f"speech cache effect: repeated texts {repeated['rate'] / distinct['rate']:.1f}x the "
        f"rate of distinct texts; target >= 10 distinct audio messages/s per worker process"
    )
    return {"distinct": distinct, "repeated": repeated}


if __name__ == "__main__":
    main()
