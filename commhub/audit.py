"""The audit log: who did what and when, for every state-changing API call and CLI action.

An entry names the actor (an API token's id and label, or `cli`), the action (`member.put`,
`campaign.pause`, `token.revoke`, `unsubscribe`, ...), the id of the object acted on, and the
outcome (`ok`, or `error <status>: <code>`). Never message content or member data: a member
id appears only as the object id of a member action. The API records its calls in
`commhub.api.audit`; anything else calls `record_audit`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from commhub.domain import AuditEntry
from commhub.store.base import Store

log = logging.getLogger("commhub.audit")

OK: Final = "ok"


@dataclass(frozen=True)
class Actor:
    """Who acts: a token id (`tok_...`) and its label, or the command line."""

    id: str
    label: str = ""


CLI: Final = Actor("cli")


async def record_audit(
    store: Store,
    actor: Actor,
    action: str,
    object_id: str | None = None,
    outcome: str = OK,
    at: datetime | None = None,
) -> None:
    """Append one entry to the audit log (e.g. `record_audit(store, actor, "unsubscribe",
    token_id)`). A failure is logged and raised: an action that cannot be audited should not
    pass silently."""
    entry = AuditEntry(
        at=at or datetime.now(UTC),
        actor=actor.id,
        actor_label=actor.label,
        action=action,
        object_id=object_id,
        outcome=outcome,
    )
    try:
        await store.add_audit(entry)
    except Exception:
        log.exception("audit: could not record %s by %s on %s", action, actor.id, object_id)
        raise


def error_outcome(status: int, code: str) -> str:
    """The outcome of a refused or failed action."""
    return f"error {status}: {code}"
