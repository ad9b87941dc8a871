"""The send path: one `Outgoing` (text, or a picture file) to the puppet service, and what a
failure means to the outbox.

Why a module of its own: the outbox decides what to retry and when to back off from how a send
failed (`SendError.retryable`, `.rate_limited`); that classification of the SDK's and gRPC's
errors lives here, beside the one call that can raise them. It never imports `wechaty`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loguru import logger

from bot.events import Outgoing
from bot.transports.base import SendError
from bot.transports.wechaty_connection import Connection

# Separator WeChat puts after an @mention (U+2005 FOUR-PER-EM SPACE), as the SDK's Room.say does.
AT_SEPARATOR = "\u2005"
_RETRYABLE_STATUSES = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "CANCELLED"}


async def send_text(conn: Connection | None, message: Outgoing, *, timeout: float) -> None:
    """Send one text over `conn`; raises `SendError` (retryable while disconnected or on network errors)."""
    conversation_id = message.group_id or message.member_id
    if not conversation_id or (message.group_id and message.member_id):
        raise SendError("Outgoing needs exactly one of group_id / member_id", retryable=False)
    if conn is None or not conn.logged_in:
        raise SendError("wechaty: not connected to the puppet service", retryable=True)
    try:
        text = message.text
        mention_ids = list(message.mentions) if message.group_id else []
        if mention_ids:
            text = await with_mentions(conn, text, mention_ids)
        # WORKAROUND 7: not Room.say()/Contact.say(), see the adapter's module docstring.
        await asyncio.wait_for(
            conn.puppet.message_send_text(conversation_id, text, mention_ids or None),
            timeout=timeout,
        )
    except SendError:
        raise
    except TimeoutError as exc:
        raise SendError(f"wechaty: send timed out after {timeout}s", retryable=True) from exc
    except Exception as exc:
        raise send_error(exc) from exc


async def send_image(
    conn: Connection | None, message: Outgoing, file_box: Callable[[str], Any], *, timeout: float
) -> None:
    """Send the picture whose path is `message.text` as the SDK's `FileBox.from_file(path)`.

    `file_box` is that constructor (the SDK is imported only by the adapter). It reads and
    base64-encodes the whole file, so it runs in a worker thread, off the event loop. A file
    that is gone cannot be sent later either: the outbox is told not to retry.
    """
    conversation_id = message.group_id or message.member_id
    if not conversation_id or (message.group_id and message.member_id):
        raise SendError("Outgoing needs exactly one of group_id / member_id", retryable=False)
    if conn is None or not conn.logged_in:
        raise SendError("wechaty: not connected to the puppet service", retryable=True)
    path = Path(message.text)
    try:
        box = await asyncio.to_thread(file_box, str(path))
    except OSError as exc:  # FileNotFoundError, a permission: no retry will find the file
        raise SendError(f"wechaty: cannot read the picture {path}: {exc!r}", retryable=False) from exc
    try:
        # WORKAROUND 7, as for text: the puppet directly, not Room.say(FileBox).
        await asyncio.wait_for(conn.puppet.message_send_file(conversation_id, box), timeout=timeout)
    except TimeoutError as exc:
        raise SendError(f"wechaty: send timed out after {timeout}s", retryable=True) from exc
    except Exception as exc:
        raise send_error(exc) from exc


async def with_mentions(conn: Connection, text: str, mention_ids: list[str]) -> str:
    """Prefix "@name " for each mentioned member, as WeChat shows mentions in the text itself."""
    prefixes = []
    for contact_id in mention_ids:
        member = await conn.member(contact_id)
        if member.name and f"@{member.name}" not in text:
            prefixes.append(f"@{member.name}")
    return f"{AT_SEPARATOR.join(prefixes)} {text}" if prefixes else text


def send_error(exc: Exception) -> SendError:
    """The `SendError` the outbox should see for an exception raised by the SDK or gRPC."""
    detail = f"wechaty: send failed: {exc!r}"
    lowered = str(exc).lower()
    if "频繁" in str(exc) or "too frequent" in lowered or "rate limit" in lowered:
        return SendError(detail, rate_limited=True, retryable=True)
    if isinstance(exc, OSError) or type(exc).__name__ == "StreamTerminatedError":
        return SendError(detail, retryable=True)
    status = getattr(getattr(exc, "status", None), "name", "")
    if status in _RETRYABLE_STATUSES:
        return SendError(detail, rate_limited=status == "RESOURCE_EXHAUSTED", retryable=True)
    if "not logged in" in lowered or "not login" in lowered:
        return SendError(detail, retryable=True)
    return SendError(detail, retryable=False)


async def remove_from_room(conn: Connection | None, room_id: str, contact_id: str, *, timeout: float) -> bool:
    """Remove a member from a room, as the SDK's `Room.delete(contact)` does (`puppet.room_delete`).

    Called on the puppet directly, like sends (WORKAROUND 7): `Room.delete` would reload the room
    through the SDK's own pools. WeChat lets only the group's owner remove members, so a refusal is
    normal: it is logged and reported as False (the leader is asked to remove them by hand).
    """
    if conn is None or not conn.logged_in:
        logger.warning("wechaty: cannot remove {} from {}: not connected", contact_id, room_id)
        return False
    try:
        await asyncio.wait_for(conn.puppet.room_delete(room_id, contact_id), timeout=timeout)
    except Exception as exc:  # not the owner, no such member, network: the leader does it by hand
        logger.warning("wechaty: could not remove {} from {}: {!r}", contact_id, room_id, exc)
        return False
    logger.info("wechaty: removed {} from {}", contact_id, room_id)
    return True
