"""Builders for events, so tests say only what matters to them."""

from __future__ import annotations

import itertools
from datetime import datetime

from bot.events import GroupMessage, Member, MemberJoined, MemberLeft, PrivateMessage

_ids = itertools.count(1)
GROUP = "团购一群"


def member(member_id: str, name: str | None = None) -> Member:
    return Member(id=member_id, name=name if name is not None else member_id)


def group_message(
    text: str,
    sender: str = "alice",
    *,
    name: str | None = None,
    group: str = GROUP,
    at: datetime,
    message_id: str | None = None,
    mentions: tuple[str, ...] = (),
) -> GroupMessage:
    return GroupMessage(
        message_id=message_id or f"m{next(_ids)}",
        group_id=group,
        sender=member(sender, name),
        text=text,
        time=at,
        mentions=mentions,
        group_name=group,
    )


def private_message(text: str, sender: str = "alice", *, at: datetime) -> PrivateMessage:
    return PrivateMessage(message_id=f"p{next(_ids)}", sender=member(sender), text=text, time=at)


def joined(*member_ids: str, group: str = GROUP, at: datetime, inviter: str | None = None) -> MemberJoined:
    return MemberJoined(
        group_id=group,
        members=tuple(member(m) for m in member_ids),
        time=at,
        inviter=member(inviter) if inviter else None,
        group_name=group,
        event_id=f"j{next(_ids)}",
    )


def left(*member_ids: str, group: str = GROUP, at: datetime) -> MemberLeft:
    return MemberLeft(
        group_id=group, members=tuple(member(m) for m in member_ids), time=at, event_id=f"l{next(_ids)}"
    )
