"""Staff operations at the terminal: tokens, campaigns, the audit log.

`commhub token create|list|revoke`, `commhub campaign list|status|pause|resume|cancel|release`
and `commhub audit` run these against the configured store. Every state-changing action is
recorded in the audit log with the actor `cli`. Output is plain aligned text; ids come first
on each line so `cut -d' ' -f1` and `grep` work.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TextIO, TypeVar

from commhub.audit import CLI, OK, record_audit
from commhub.domain import AuditEntry, Campaign, Role, TokenInfo
from commhub.errors import CommhubError
from commhub.lifecycle import FINAL, CampaignEvent, CampaignStatus
from commhub.store.base import CampaignCounts, CampaignSummary, Store
from commhub.tokens import issue_token

T = TypeVar("T")
BAR_WIDTH = 30
# A watched campaign stops being watched once nothing more can happen by itself.
_SETTLED = frozenset({CampaignStatus.DONE, CampaignStatus.CANCELLED})


async def audited(
    store: Store, action: str, object_id: str | None, run: Callable[[], Awaitable[T]]
) -> T:
    """Run a CLI action and record it (also when it fails, with the error's kind)."""
    try:
        result = await run()
    except CommhubError as exc:
        await record_audit(store, CLI, action, object_id, f"error: {type(exc).__name__}")
        raise
    await record_audit(store, CLI, action, object_id, OK)
    return result


def when(value: datetime | None) -> str:
    """A time for a terminal: UTC, to the second; `-` for none."""
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell (the last one left ragged)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for r in [header, *rows]:
        cells = [c.ljust(w) for c, w in zip(r, widths, strict=False)] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# -- tokens -----------------------------------------------------------------------------------


async def token_create(
    store: Store, role: str, label: str, expires_in: timedelta | None
) -> tuple[str, TokenInfo]:
    """Create a token (audited as `token.create` with the new token's id)."""
    token, info = await issue_token(store, Role(role), label, expires_in)
    await record_audit(store, CLI, "token.create", info.id)
    return token, info


def token_state(t: TokenInfo, now: datetime) -> str:
    if t.revoked_at is not None:
        return f"revoked {when(t.revoked_at)}"
    if t.expires_at is not None:
        return f"{'expired' if t.expires_at <= now else 'expires'} {when(t.expires_at)}"
    return "active"


def tokens_text(tokens: Sequence[TokenInfo], now: datetime) -> str:
    """`commhub token list`: id, role, label, created, last used, state; never the secret."""
    rows = [
        [t.id, str(t.role), t.label or "-", when(t.created_at), when(t.last_used_at),
         token_state(t, now)]
        for t in tokens
    ]  # fmt: skip
    return table(["ID", "ROLE", "LABEL", "CREATED", "LAST USED", "STATE"], rows)


async def token_revoke(store: Store, token_id: str) -> TokenInfo:
    """Revoke a token (audited as `token.revoke`)."""
    return await audited(
        store, "token.revoke", token_id, lambda: store.revoke_token(token_id, datetime.now(UTC))
    )


# -- campaigns --------------------------------------------------------------------------------


def progress(by_state: dict[str, int], total: int, width: int = BAR_WIDTH) -> str:
    """`[#########---------]  45%  9/20 finished` (finished: in a final state)."""
    finished = sum(n for s, n in by_state.items() if s in FINAL)
    share = finished / total if total else 1.0
    filled = round(share * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {share:4.0%}  {finished}/{total} finished"


def _states(by_state: dict[str, int]) -> str:
    return " ".join(f"{s}={n}" for s, n in by_state.items() if n) or "-"


def campaigns_text(page: Sequence[CampaignSummary]) -> str:
    """`commhub campaign list`: one campaign a line, newest first."""
    rows = [
        [s.campaign.id, s.campaign.status, s.campaign.template, when(s.campaign.created_at),
         when(s.campaign.send_at), when(s.campaign.finished_at), str(s.campaign.total),
         _states(s.by_state), s.campaign.name]
        for s in page
    ]  # fmt: skip
    header = ["ID", "STATUS", "TEMPLATE", "CREATED", "SEND AT", "FINISHED", "TOTAL", "STATES"]
    return table([*header, "NAME"], rows)


def status_text(c: Campaign, counts: CampaignCounts) -> str:
    """`commhub campaign status ID`: the campaign, a progress bar and its counts."""
    lines = [
        f"{c.id}  {c.name}",
        f"  status    {c.status}",
        f"  template  {c.template}  content {c.content_hash or '-'}",
        f"  created   {when(c.created_at)}  send at {when(c.send_at)}"
        f"  finished {when(c.finished_at)}",
        f"  progress  {progress(counts.by_state, counts.total)}",
        f"  states    {_states(counts.by_state)}",
        f"  languages {_states(counts.by_language)}",
        f"  formats   {_states(counts.by_format)}",
    ]
    if c.paused_at is not None:
        lines.insert(2, f"  paused    {when(c.paused_at)}")
    if counts.by_state.get("held"):
        lines.append(
            "  held deliveries say what clears them: GET /v1/campaigns/ID/deliveries?state=held"
        )
    return "\n".join(lines)


async def campaign_status(store: Store, campaign_id: str) -> tuple[Campaign, CampaignCounts]:
    campaign = await store.get_campaign(campaign_id)
    if campaign is None:
        from commhub.errors import NotFound

        raise NotFound(f"no campaign {campaign_id!r}")
    return campaign, await store.campaign_counts(campaign_id)


async def watch(
    store: Store, campaign_id: str, interval: float, out: TextIO | None = None
) -> Campaign:
    """Redraw the campaign's progress every `interval` seconds until it is done or cancelled
    (on a terminal, in place; piped, one line per change). `out` defaults to stdout."""
    out = out or sys.stdout
    last = ""
    while True:
        campaign, counts = await campaign_status(store, campaign_id)
        line = f"{campaign.status:<9} {progress(counts.by_state, counts.total)}"
        if out.isatty():
            out.write("\r" + line)
        elif line != last:
            out.write(line + "\n")
        out.flush()
        last = line
        if campaign.status in _SETTLED:
            if out.isatty():
                out.write("\n")
            return campaign
        await asyncio.sleep(interval)


async def campaign_change(store: Store, campaign_id: str, event: CampaignEvent) -> int:
    """Pause, resume, cancel or release a campaign (audited as `campaign.<event>`)."""
    return await audited(
        store,
        f"campaign.{event}",
        campaign_id,
        lambda: store.change_campaign(campaign_id, event, datetime.now(UTC)),
    )


# -- audit ------------------------------------------------------------------------------------


def audit_text(entries: Sequence[AuditEntry]) -> str:
    """`commhub audit`: one entry a line, oldest first."""
    rows = [
        [str(e.id), when(e.at), e.actor, e.actor_label or "-", e.action, e.object_id or "-",
         e.outcome]
        for e in entries
    ]  # fmt: skip
    return table(["ID", "AT", "ACTOR", "LABEL", "ACTION", "OBJECT", "OUTCOME"], rows)
