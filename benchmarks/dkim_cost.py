"""What DKIM signing costs a campaign: the hub end to end with and without [dkim].

    .venv/bin/python -m benchmarks.dkim_cost [--n 20000] [--rounds 2] [--keys rsa|ed25519|both]

One `commhub worker` process on SQLite sends N large-print emails over SMTP to `smtp-sink`
(as benchmarks.campaign_throughput does), with the consent headers on in both runs
(List-Unsubscribe links and VERP envelope senders: `[unsubscribe] secret`, `[bounces]
domain`), alternately without and with DKIM (an RSA-2048 key, an Ed25519 one, or both
signatures), so a busy shared machine slows both alike. The target: signing costs at most
15% of the rate. The worker signs in a child process (commhub.dkim.process), so on a
machine with a spare core the RSA work runs beside the worker's event loop; the child's CPU
is printed apart from the worker's, and so is the sink's (the MTA's stand-in, which shares
the machine's cores here and would not in production).

Last, the bound: the CPU a message takes in all three processes (start-up, measured apart,
taken out), against what one message's signatures cost alone and how much of the machine's
cores the signed runs kept busy. When signing makes the run CPU-bound, no scheduling can
beat cores / (CPU per message).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.campaign_throughput import hub_rate
from benchmarks.common import (
    child_pids,
    commhub,
    cpu_seconds,
    database,
    header,
    machine,
    smtp_section,
    stop,
    workdir,
    write_config,
)
from benchmarks.smtp_raw import SINK_PIDS, smtp_sink
from commhub.dkim.signer import DkimSigner
from commhub.settings import DkimSettings

CONSENT = {
    "unsubscribe": {"secret": "benchmark-secret-" + "x" * 32},
    "bounces": {"domain": "bounces.evergreen-health.example"},
}


def make_keys(folder: Path) -> tuple[Path, Path]:
    rsa, ed = folder / "rsa.pem", folder / "ed25519.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(rsa)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(ed)],
        check=True, capture_output=True,
    )  # fmt: skip
    return rsa, ed


def signature_ms(settings: dict[str, Any], count: int = 2_000) -> float:
    """CPU milliseconds one message's signatures take alone, in this process: the fields of a
    message with one header and a one-line body, so the signing is nearly all of it."""
    signer = DkimSigner.from_settings(DkimSettings(**settings), Path("/"))
    assert signer is not None
    tiny = b"From: a@evergreen-health.example\r\n\r\nx\r\n"
    started = time.process_time()
    for _ in range(count):
        signer.signature_fields(tiny)
    return (time.process_time() - started) * 1000 / count


def startup_cpu(dkim: dict[str, Any], smtp: tuple[str, int]) -> tuple[float, float]:
    """CPU seconds a worker with [dkim] and its signing child take to start, with nothing to
    send: (worker, child). Each run's CPU figures include them once, before its first
    claim; the bound takes them out."""
    with workdir("dkim-start") as folder, database("sqlite", folder) as url:
        config = write_config(folder, url, **smtp_section(*smtp), **CONSENT, dkim=dkim)
        commhub(config, "migrate").wait()
        worker = commhub(config, "worker")
        try:
            deadline = time.monotonic() + 30
            while not child_pids(worker.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # the child has loaded its keys and waits for input
            return cpu_seconds(worker.pid), sum(cpu_seconds(c) for c in child_pids(worker.pid))
        finally:
            stop([worker])


def with_sink_cpu(run: Callable[[], dict[str, float]], sink: int, n: int) -> dict[str, float]:
    """`run()`'s figures, plus the sink process's CPU milliseconds a message."""
    before = cpu_seconds(sink)
    figures = run()
    return {**figures, "sink_cpu_ms": (cpu_seconds(sink) - before) * 1000 / n}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs (without, with)")
    parser.add_argument("--keys", choices=["rsa", "ed25519", "both"], default="rsa")
    args = parser.parse_args(argv)
    header(f"DKIM cost: {args.n:,} large-print emails, 1 worker process, SQLite; {machine()}")
    workers = {"batch_size": 64, "concurrency": 16, "poll_seconds": 0.05}
    without: list[float] = []
    signed: list[float] = []
    cpu_without: list[float] = []
    cpu_signed: list[float] = []
    child_cpu: list[float] = []
    pair_costs: list[float] = []  # each round's own cost: its two runs saw the same machine
    sink_cpu: list[float] = []
    busy: list[float] = []  # share of the machine's cores the signed runs kept busy
    cores = os.cpu_count() or 1
    with smtp_sink() as smtp, workdir("dkim-keys") as folder:
        sink = SINK_PIDS[smtp[1]]
        rsa, ed = make_keys(folder)
        dkim: dict[str, Any] = {
            "domain": "evergreen-health.example",
            "selector": "s2026",
            "private_key_file": str(ed if args.keys == "ed25519" else rsa),
        }
        if args.keys == "both":
            dkim.update(ed25519_selector="ed2026", ed25519_private_key_file=str(ed))
        worker_start, child_start = startup_cpu(dkim, smtp)
        sign_ms = signature_ms(dkim)
        for i in range(args.rounds):
            # Each pair in turn, the order swapped every round: a machine that drifts one way
            # over a pair's two minutes favours neither run on the whole.
            runs = {
                "plain": lambda: hub_rate("sqlite", 1, args.n, smtp, 8, workers, CONSENT),
                "dkim": lambda: with_sink_cpu(
                    lambda: hub_rate(
                        "sqlite", 1, args.n, smtp, 8, workers, {**CONSENT, "dkim": dkim}
                    ),
                    sink,
                    args.n,
                ),
            }
            order = ["plain", "dkim"] if i % 2 == 0 else ["dkim", "plain"]
            results = {name: runs[name]() for name in order}
            plain, with_dkim = results["plain"], results["dkim"]
            pair_costs.append(1 - with_dkim["rate"] / plain["rate"])
            without.append(plain["rate"])
            signed.append(with_dkim["rate"])
            cpu_without.append(plain["cpu_ms"])
            cpu_signed.append(with_dkim["cpu_ms"])
            child_cpu.append(with_dkim["child_cpu_ms"])
            sink_cpu.append(with_dkim["sink_cpu_ms"])
            # Steady CPU a message (start-up taken out), in the window the rate is timed over.
            all_ms = with_dkim["cpu_ms"] + with_dkim["child_cpu_ms"] + with_dkim["sink_cpu_ms"]
            all_ms -= (worker_start + child_start) * 1000 / args.n
            busy.append(all_ms * with_dkim["rate"] / 1000 / cores)
            print(
                f"round {i + 1}: without DKIM {plain['rate']:,.0f} messages/s "
                f"({plain['cpu_ms']:.2f} ms CPU/message); with DKIM {with_dkim['rate']:,.0f}/s "
                f"({with_dkim['cpu_ms']:.2f} ms, + {with_dkim['child_cpu_ms']:.2f} ms in the "
                f"signing process): {pair_costs[-1]:.1%} slower",
                flush=True,
            )
    a, b = statistics.median(without), statistics.median(signed)
    cost = 1 - b / a
    kind = {"rsa": "RSA-2048", "ed25519": "Ed25519", "both": "RSA-2048 + Ed25519"}[args.keys]
    print(
        f"median: without {a:,.0f} messages/s, with DKIM ({kind}) {b:,.0f} messages/s: "
        f"{cost:.1%} slower (target: at most 15%); worker CPU/message "
        f"{statistics.median(cpu_without):.2f} -> {statistics.median(cpu_signed):.2f} ms "
        f"(+ {statistics.median(child_cpu):.2f} ms in the signing process); median of the "
        f"rounds' own costs {statistics.median(pair_costs):.1%} "
        f"(from {min(pair_costs):.1%} to {max(pair_costs):.1%})"
    )
    # The bound: every process's steady CPU a message with DKIM, and what the cores allow.
    worker_ms = statistics.median(cpu_signed) - worker_start * 1000 / args.n
    signing_ms = statistics.median(child_cpu) - child_start * 1000 / args.n
    per_message = worker_ms + signing_ms + statistics.median(sink_cpu)
    plain_ms = statistics.median(cpu_without) - worker_start * 1000 / args.n
    best = cores * 1000 / per_message
    print(
        f"bound (start-up taken out: worker {worker_start:.2f} s, signing process "
        f"{child_start:.2f} s of CPU): with DKIM a message takes {per_message:.2f} ms of CPU "
        f"in all (worker {worker_ms:.2f}, signing process {signing_ms:.2f}, sink "
        f"{statistics.median(sink_cpu):.2f}); its signatures alone {sign_ms:.2f} ms, "
        f"{sign_ms / plain_ms:.0%} of the worker's {plain_ms:.2f} ms a message without DKIM. "
        f"The signed runs kept {statistics.median(busy):.0%} of the {cores} cores busy; with "
        f"all of them busy all the time: at most {best:,.0f} messages/s, "
        f"{max(0.0, 1 - best / a):.1%} slower than without"
    )
    return {"without": a, "with": b, "cost": cost, "pair_cost": statistics.median(pair_costs)}


if __name__ == "__main__":
    main()
