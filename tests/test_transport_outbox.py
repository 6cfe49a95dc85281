"""OutboxTransport: a Maildir any mail client can open, one file per delivery."""

from __future__ import annotations

import asyncio
import email.policy
import mailbox
import os
from pathlib import Path

import pytest

from commhub.domain import Format, OutgoingMessage, message_id_for
from commhub.errors import TransientError
from commhub.settings import OutboxSettings
from commhub.transports.outbox import OutboxTransport, file_name


def make_message(i: int, body: str = "Your refill is ready.", pad: int = 0) -> OutgoingMessage:
    mid = message_id_for(i, "commhub.example.org")
    raw = (
        f"From: outreach@evergreen-health.example\r\nTo: member{i}@example.net\r\n"
        f"Subject: Refill {i}\r\nMessage-ID: {mid}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
        f"{body}\r\n" + "x" * pad + "\r\n"
    ).encode()
    return OutgoingMessage(
        delivery_id=i,
        message_id=mid,
        sender="outreach@evergreen-health.example",
        recipients=(f"member{i}@example.net",),
        raw=raw,
        format=Format.LARGE_PRINT_EMAIL,
        language="es",
        subject=f"Refill {i}",
    )


async def started(tmp_path: Path, path: str = "var/outbox") -> OutboxTransport:
    transport = OutboxTransport(OutboxSettings(path=path), tmp_path)
    await transport.start()
    return transport


async def test_messages_are_readable_with_stdlib_maildir(tmp_path: Path) -> None:
    transport = await started(tmp_path)
    messages = [make_message(i, body="Su receta está lista ✓") for i in range(5)]
    for m in messages:
        await transport.send(m)
    await transport.close()

    box = mailbox.Maildir(tmp_path / "var" / "outbox", create=False)
    assert len(box) == 5
    by_id = {msg["Message-ID"]: msg for msg in box}
    for m in messages:
        stored = by_id[m.message_id]
        assert stored["Subject"] == m.subject
        parsed = email.message_from_bytes(stored.as_bytes(), policy=email.policy.default)
        assert parsed.get_content().strip() == "Su receta está lista ✓"
    # The file holds the very bytes that were sent, with Maildir's LF line endings.
    file = tmp_path / "var" / "outbox" / "new" / file_name(messages[0].message_id)
    assert file.read_bytes().replace(b"\n", b"\r\n") == messages[0].raw
    assert os.listdir(tmp_path / "var" / "outbox" / "tmp") == []


async def test_absolute_path_is_used_as_is(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    transport = await started(Path("/nonexistent-root"), str(target))
    await transport.send(make_message(1))
    assert len(mailbox.Maildir(target, create=False)) == 1


async def test_resending_the_same_delivery_writes_one_file(tmp_path: Path) -> None:
    transport = await started(tmp_path)
    message = make_message(42)
    await transport.send(message)
    await transport.send(message)  # a retry after a crash: same Message-ID
    await asyncio.gather(*(transport.send(message) for _ in range(5)))
    box = mailbox.Maildir(tmp_path / "var" / "outbox", create=False)
    assert len(box) == 1


async def test_resend_after_a_client_read_it_still_writes_nothing(tmp_path: Path) -> None:
    transport = await started(tmp_path)
    message = make_message(7)
    await transport.send(message)
    box = mailbox.Maildir(tmp_path / "var" / "outbox", create=False)
    key = next(iter(box.keys()))
    msg = box[key]
    msg.set_subdir("cur")  # what a mail client does on reading: move to cur/ and flag it seen
    msg.add_flag("S")
    box[key] = msg
    assert os.listdir(tmp_path / "var" / "outbox" / "new") == []

    await transport.send(message)
    assert len(mailbox.Maildir(tmp_path / "var" / "outbox", create=False)) == 1


async def test_different_deliveries_get_different_files(tmp_path: Path) -> None:
    transport = await started(tmp_path)
    await asyncio.gather(*(transport.send(make_message(i)) for i in range(50)))
    assert len(os.listdir(tmp_path / "var" / "outbox" / "new")) == 50


async def test_large_message_written_off_the_loop_is_complete(tmp_path: Path) -> None:
    transport = await started(tmp_path)
    message = make_message(3, pad=200_000)
    await transport.send(message)
    file = tmp_path / "var" / "outbox" / "new" / file_name(message.message_id)
    assert file.read_bytes().replace(b"\n", b"\r\n") == message.raw


async def test_folder_removed_while_running_is_recreated(tmp_path: Path) -> None:
    transport = await started(tmp_path)
    folder = tmp_path / "var" / "outbox"
    for sub in ("tmp", "new", "cur"):
        (folder / sub).rmdir()
    await transport.send(make_message(1))
    assert len(mailbox.Maildir(folder, create=False)) == 1


async def test_unwritable_folder_is_transient(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    transport = OutboxTransport(OutboxSettings(path=str(blocker / "outbox")), tmp_path)
    with pytest.raises(TransientError, match="outbox"):
        await transport.start()
    with pytest.raises(TransientError, match="outbox"):
        await transport.send(make_message(1))


async def test_files_end_in_eml_and_older_commhub_names_still_count(tmp_path: Path) -> None:
    first, legacy, read = make_message(1), make_message(2), make_message(3)
    folder = tmp_path / "var" / "outbox"
    new, cur = folder / "new", folder / "cur"
    new.mkdir(parents=True)
    cur.mkdir()
    # Files an older version wrote under the name used before, one of them read and flagged
    # by a mail client (any flags): a retry writes no second copy of either.
    old_name = file_name(legacy.message_id).removesuffix(".eml") + ".commhub"
    (new / old_name).write_bytes(legacy.raw)
    old_read = file_name(read.message_id).removesuffix(".eml") + ".commhub:2,FS"
    (cur / old_read).write_bytes(read.raw)
    transport = await started(tmp_path)
    for message in (first, legacy, read, legacy, read):
        await transport.send(message)
    await transport.close()
    assert sorted(p.name for p in new.iterdir()) == sorted([file_name(first.message_id), old_name])
    assert file_name(first.message_id).endswith(".eml")
    assert [p.name for p in cur.iterdir()] == [old_read]
    from commhub.transports.outbox import remove_messages

    assert remove_messages(folder, [legacy.message_id, read.message_id]) == 2


def test_outbox_show_decodes_the_newest_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from commhub.cli import main
    from commhub.preview import main as preview_main

    config = tmp_path / "config.toml"
    config.write_text('[transports.outbox]\npath = "outbox"\n', encoding="utf-8")
    assert main(["--config", str(config), "outbox", "show"]) == 2
    assert "holds no messages yet" in capsys.readouterr().err
    # A real rendered message (base64 bodies) placed in the outbox as the transport would.
    out = tmp_path / "pv"
    assert preview_main(["refill_reminder", "--lang", "es", "--out", str(out),
                         "--config", str(config)]) in (0, 1)  # fmt: skip
    (eml,) = out.glob("*.eml")
    (tmp_path / "outbox" / "new").mkdir(parents=True)
    (tmp_path / "outbox" / "new" / eml.name).write_bytes(eml.read_bytes())
    capsys.readouterr()
    assert main(["--config", str(config), "outbox", "show"]) == 0
    shown = capsys.readouterr().out
    assert "Subject: Es hora de resurtir su receta" in shown
    assert "Content-Language: es" in shown
    assert "Puede resurtir su receta" in shown  # the body, decoded
    assert "[text/html, " in shown
