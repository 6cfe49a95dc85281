"""All six benchmarks in one go (`make bench`): figures and ratios printed, nothing asserted.

    .venv/bin/python -m benchmarks.run_all [--quick] [--only campaign dkim audio intake import api]

Each benchmark starts what it needs (smtp-sink, `commhub serve`/`worker` subprocesses, a
temporary SQLite file or PostgreSQL schema) and cleans up. PostgreSQL runs are skipped with
a note when 127.0.0.1:5432 does not answer. `--quick` scales every N down ~10x (a smoke run).
The full run takes ~9-13 minutes on a 2-core machine (DKIM's pairs of runs: ~3).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from benchmarks import (
    api_latency,
    audio_throughput,
    campaign_throughput,
    dkim_cost,
    intake,
    member_import,
)
from benchmarks.common import machine

BENCHES: dict[str, tuple[Callable[[list[str]], Any], list[str], list[str]]] = {
    # name: (main, full-size arguments, --quick arguments)
    "campaign": (campaign_throughput.main, [], ["--n", "2000"]),
    "dkim": (dkim_cost.main, [], ["--n", "2000", "--rounds", "1"]),
    "audio": (audio_throughput.main, [], ["--n", "50", "--n-neural", "20"]),
    "intake": (intake.main, [], ["--n", "10000"]),
    "import": (member_import.main, ["--stores", "sqlite", "postgres"], ["--rows", "100000"]),
    "api": (api_latency.main, [], ["--n", "5000", "--seconds", "3"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="scale every N down for a smoke run")
    parser.add_argument("--only", nargs="+", choices=list(BENCHES), default=list(BENCHES))
    args = parser.parse_args()
    print(f"commhub benchmarks on {machine()}", flush=True)
    started = time.perf_counter()
    failed: list[str] = []
    for name in args.only:
        bench, full, quick = BENCHES[name]
        t0 = time.perf_counter()
        try:
            bench(quick if args.quick else full)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            failed.append(name)
            print(f"benchmark {name} failed: {type(exc).__name__}: {exc}")
        print(f"({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s on {machine()}")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
