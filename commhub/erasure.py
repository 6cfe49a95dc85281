"""Erasing a member everywhere the hub keeps a copy: the store, then the outbox folder.

The store nulls the personal fields and zeroes the old bytes (see `Store.erase_member`); the
outbox (a Maildir of the sent messages, for development and review) holds whole messages with
the name and address, so the erased member's files are deleted from it too. Copies outside
the hub (a mail server's queue, the member's inbox, database backups) are not ours to erase:
docs/erasure.md lists them.
"""

from __future__ import annotations

import asyncio

from commhub.domain import message_id_for
from commhub.settings import Settings
from commhub.store.base import Store
from commhub.transports.outbox import remove_messages


async def erase_member(store: Store, settings: Settings, member_id: str) -> bool:
    """Erase `member_id` in the store and the outbox; False if the member is unknown."""
    erasure = await store.erase_member(member_id)
    if erasure is None:
        return False
    message_ids: set[str] = set()
    for delivery_id, campaign_id, stored in erasure.deliveries:
        # The Message-ID the renderer gives it today, and the one recorded when it was sent
        # (they differ if server.base_domain changed since).
        message_ids.add(message_id_for(delivery_id, settings.server.base_domain, campaign_id))
        if stored:
            message_ids.add(stored)
    if message_ids:
        folder = settings.path(settings.transports.outbox.path)
        await asyncio.to_thread(remove_messages, folder, message_ids)
    return True
