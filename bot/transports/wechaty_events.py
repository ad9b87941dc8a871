"""Puppet events -> our own events (`bot.events`), one at a time.

Why a module of its own: this is the one place that knows the shape of the puppet service's
payloads, so a change in the SDK or the service shows up here and nowhere else. It never imports
`wechaty`: the message-type enum comes in through `WechatySdk`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from loguru import logger

from bot.events import (
    Event,
    GroupMessage,
    GroupRenamed,
    MemberJoined,
    MemberLeft,
    PrivateMessage,
    TransportStatus,
)
from bot.transports.wechaty_connection import Connection

# The puppet events the adapter listens to, in the puppet's own names.
PUPPET_EVENTS = ("message", "login", "logout", "room-join", "room-leave", "room-topic", "scan", "error")


def to_datetime(timestamp: float | int | None) -> datetime:
    """Puppet timestamps come in seconds or milliseconds; we use aware UTC datetimes."""
    if not timestamp:
        return datetime.now(UTC)
    seconds = timestamp / 1000 if timestamp > 2_145_888_000 else float(timestamp)
    return datetime.fromtimestamp(seconds, UTC)


def now() -> datetime:
    return datetime.now(UTC)


class EventConverter:
    """Turns one puppet event into zero or more of our events, updating the connection's login state.

    Args:
        text_type: the SDK's `MessageType.MESSAGE_TYPE_TEXT`.
        bot_name: the bot's display name for "@name" mention detection; empty -> the account's name.
        kinds: other SDK message types read in groups, as `GroupMessage.kind` names them (links,
            mini-program and contact cards, pictures: moderation reads them); any other type, and
            any non-text private message, is ignored.
    """

    def __init__(self, text_type: Any, bot_name: str = "", *, kinds: Mapping[Any, str] | None = None) -> None:
        self.text_type = text_type
        self.bot_name = bot_name
        self.kinds = dict(kinds or {})

    async def convert(
        self, conn: Connection, event_name: str, payload: Any, *, reconnecting: bool = False
    ) -> list[Event]:
        """The events for `payload`; `reconnecting` makes a login report itself as "reconnected"."""
        if event_name == "message":
            event = await self._message(conn, payload.message_id)
            return [event] if event is not None else []
        if event_name == "login":
            return await self._login(conn, payload.contact_id, reconnecting)
        if event_name == "logout":
            conn.logged_in = False
            logger.warning("wechaty: account {} logged out ({})", payload.contact_id, payload.data)
            return [
                TransportStatus(
                    "logout", now(), detail=str(payload.data or ""), account_id=payload.contact_id
                )
            ]
        if event_name == "room-join":
            return await self._join(conn, payload)
        if event_name == "room-leave":
            return await self._leave(conn, payload)
        if event_name == "room-topic":
            room = await conn.room(payload.room_id, refresh=True)
            return [
                GroupRenamed(
                    group_id=payload.room_id,
                    new_name=payload.new_topic or (room.payload.topic if room else ""),
                    old_name=payload.old_topic or "",
                    time=to_datetime(payload.timestamp),
                )
            ]
        if event_name == "scan":
            url = f"https://wechaty.js.org/qrcode/{payload.qrcode}" if payload.qrcode else ""
            status = getattr(payload.status, "name", str(payload.status))
            logger.warning("wechaty: login needed, scan status {} {}", status, url)
            return [TransportStatus("scan", now(), detail=f"{status} {url}".strip())]
        if event_name == "error":
            detail = str(getattr(payload, "data", payload) or "")
            if not detail:  # the service sends empty error events now and then
                return []
            logger.error("wechaty: puppet error: {}", detail)
            return [TransportStatus("error", now(), detail=detail)]
        return []

    async def _login(self, conn: Connection, contact_id: str, reconnecting: bool) -> list[Event]:
        conn.self_id = contact_id
        me = await conn.contact(contact_id)
        conn.self_name = me.name if me is not None else ""
        conn.logged_in = True
        kind = "reconnected" if reconnecting else "login"
        logger.info("wechaty: {} as {} ({})", kind, conn.self_name, contact_id)
        return [TransportStatus(kind, now(), detail=conn.self_name, account_id=contact_id)]

    async def _message(self, conn: Connection, message_id: str) -> Event | None:
        # Message payloads are fetched directly: `Message.ready()` would also load every
        # talker/room/listener without our refresh rules.
        payload = await conn.puppet.message_payload(message_id)
        talker_id = getattr(payload, "from_id", "") or ""
        if not talker_id or talker_id == conn.self_id:
            return None  # the bot's own messages come back as events: never deliver them
        room_id = payload.room_id or ""
        kind = "text" if payload.type == self.text_type else self.kinds.get(payload.type, "")
        if not kind or (kind != "text" and not room_id):
            logger.debug("wechaty: ignoring {} message {}", payload.type, message_id)
            return None
        text = payload.text or ""
        if kind != "text":
            text = await card_text(conn, kind, message_id, text)
        sender = await conn.member(talker_id)
        when = to_datetime(payload.timestamp)
        if not room_id:
            return PrivateMessage(message_id=message_id, sender=sender, text=text, time=when)
        room = await conn.room(room_id)
        mentions = tuple(payload.mention_ids or ())
        bot_name = self.bot_name or conn.self_name
        mentions_bot = conn.self_id in mentions or bool(bot_name and f"@{bot_name}" in text)
        return GroupMessage(
            message_id=message_id,
            group_id=room_id,
            sender=sender,
            text=text,
            time=when,
            mentions=mentions,
            group_name=conn.topic(room),
            mentions_bot=mentions_bot,
            kind=kind,
        )

    async def _join(self, conn: Connection, payload: Any) -> list[Event]:
        room = await conn.room(payload.room_id, refresh=True)  # member list changed
        members = tuple([await conn.member(cid) for cid in payload.invited_ids or ()])
        inviter = await conn.member(payload.inviter_id) if payload.inviter_id else None
        ids = ",".join(m.id for m in members)
        return [
            MemberJoined(
                group_id=payload.room_id,
                members=members,
                time=to_datetime(payload.timestamp),
                inviter=inviter,
                group_name=conn.topic(room),
                event_id=f"room-join:{payload.room_id}:{payload.timestamp}:{ids}",
            )
        ]

    async def _leave(self, conn: Connection, payload: Any) -> list[Event]:
        removed = list(payload.removed_ids or ())
        events: list[Event] = []
        try:
            room = await conn.room(payload.room_id, refresh=True)
        except Exception:  # the bot itself may have been removed: no payload any more
            room = None
        topic = conn.topic(room)
        others = [cid for cid in removed if cid != conn.self_id]
        if others:
            members = tuple([await conn.member(cid) for cid in others])
            events.append(
                MemberLeft(
                    group_id=payload.room_id,
                    members=members,
                    time=to_datetime(payload.timestamp),
                    group_name=topic,
                    event_id=f"room-leave:{payload.room_id}:{payload.timestamp}:{','.join(others)}",
                )
            )
        if conn.self_id and conn.self_id in removed:
            logger.warning("wechaty: the bot was removed from group {} ({})", payload.room_id, topic)
            events.append(
                TransportStatus(
                    "removed_from_group",
                    to_datetime(payload.timestamp),
                    detail=topic,
                    group_id=payload.room_id,
                    account_id=conn.self_id,
                )
            )
        return events


async def card_text(conn: Connection, kind: str, message_id: str, fallback: str) -> str:
    """The text form of a card, for moderation: a link's title and URL, a mini-program's title,
    a contact card's name. Pictures have none. A payload the service cannot give keeps `fallback`."""
    try:
        if kind == "link":
            link = await conn.puppet.message_url(message_id)
            return f"{link.title} {link.url}".strip()
        if kind == "mini_program":
            program = await conn.puppet.message_mini_program(message_id)
            return " ".join(str(getattr(program, f, "") or "") for f in ("title", "description")).strip()
        if kind == "contact_card":
            contact_id = await conn.puppet.message_contact(message_id)
            return (await conn.member(contact_id)).name if contact_id else fallback
    except Exception as exc:  # an old service without the call: the raw text still shows something
        logger.debug("wechaty: no {} payload for {}: {!r}", kind, message_id, exc)
        return fallback
    return "" if kind == "image" else fallback
