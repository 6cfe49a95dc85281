"""Prometheus metrics in the text exposition format, with no client library.

`Metrics` is a small registry the process shares: the worker reports each outcome and its
send latency (`observe_outcome`), the API counts requests. `/metrics` adds what the store
knows at scrape time (deliveries per state across all processes, queue depth).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

from commhub.domain import DeliveryOutcome, State

# Send latency buckets, in seconds: from a local sink to a slow remote server or speech.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


class Histogram:
    """A cumulative histogram (Prometheus semantics: `le` buckets, sum and count)."""

    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(sorted(buckets))
        self.counts = [0] * len(self.buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break

    def lines(self, name: str, labels: str = "") -> Iterable[str]:
        sep = "," if labels else ""
        running = 0
        for bound, count in zip(self.buckets, self.counts, strict=True):
            running += count
            yield f'{name}_bucket{{{labels}{sep}le="{bound:g}"}} {running}'
        yield f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.total}'
        suffix = f"{{{labels}}}" if labels else ""
        yield f"{name}_sum{suffix} {self.sum:.6f}"
        yield f"{name}_count{suffix} {self.total}"


class Metrics:
    """The process's counters and histograms; safe to update from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: dict[str, int] = {}
        self.send_latency = Histogram(LATENCY_BUCKETS)
        self.requests: dict[tuple[str, str, int], int] = {}

    def observe_outcome(self, outcome: DeliveryOutcome, seconds: float | None) -> None:
        """A worker finished one delivery attempt (`seconds` its send took, None if none).

        The latency of attempts that reached the transport (sent, retry_wait, failed) goes
        into the send latency histogram; policy holds, skips and render failures do not.
        """
        state = str(outcome.state)
        with self._lock:
            self.outcomes[state] = self.outcomes.get(state, 0) + 1
            tried = outcome.state in (State.SENT, State.RETRY_WAIT, State.FAILED)
            if tried and seconds is not None:
                self.send_latency.observe(seconds)

    def observe_send(self, seconds: float) -> None:
        """One send took `seconds` (for callers that time sends themselves)."""
        with self._lock:
            self.send_latency.observe(seconds)

    def count_request(self, method: str, route: str, status: int) -> None:
        with self._lock:
            key = (method, route, status)
            self.requests[key] = self.requests.get(key, 0) + 1

    def render(self, state_totals: Mapping[str, int], queue_depth: int | None) -> str:
        """The exposition text, with the store's numbers read at scrape time."""
        out: list[str] = []
        out.append(
            "# HELP commhub_deliveries Deliveries per state, all campaigns (from the store)."
        )
        out.append("# TYPE commhub_deliveries gauge")
        for state in State:
            out.append(f'commhub_deliveries{{state="{state}"}} {state_totals.get(state, 0)}')
        if queue_depth is not None:
            out.append("# HELP commhub_queue_depth Deliveries due or in flight (from the store).")
            out.append("# TYPE commhub_queue_depth gauge")
            out.append(f"commhub_queue_depth {queue_depth}")
        with self._lock:
            out.append(
                "# HELP commhub_delivery_outcomes_total Delivery attempts finished by this "
                "process's workers, by resulting state."
            )
            out.append("# TYPE commhub_delivery_outcomes_total counter")
            for state in State:
                out.append(
                    f'commhub_delivery_outcomes_total{{state="{state}"}} '
                    f"{self.outcomes.get(state, 0)}"
                )
            out.append(
                "# HELP commhub_send_latency_seconds Time the transport took to send one "
                "message (attempts that reached a transport)."
            )
            out.append("# TYPE commhub_send_latency_seconds histogram")
            out.extend(self.send_latency.lines("commhub_send_latency_seconds"))
            out.append("# HELP commhub_http_requests_total HTTP requests by route and status.")
            out.append("# TYPE commhub_http_requests_total counter")
            for (method, route, status), n in sorted(self.requests.items()):
                out.append(
                    f'commhub_http_requests_total{{method="{method}",route="{_esc(route)}",'
                    f'status="{status}"}} {n}'
                )
        return "\n".join(out) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
