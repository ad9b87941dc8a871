"""The contract between a chat network and the bot."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.events import Event, Outgoing

EventSink = Callable[[Event], Awaitable[object]]


class SendError(Exception):
    """A transport could not deliver a message.

    `rate_limited` is set when the network said we send too fast (WeChat's
    操作过于频繁); the outbox then pauses everything instead of retrying at once.
    `retryable` tells the outbox to keep the message queued and try later
    (e.g. the connection is down) rather than dropping it.
    """

    def __init__(self, message: str, *, rate_limited: bool = False, retryable: bool = True) -> None:
        super().__init__(message)
        self.rate_limited = rate_limited
        self.retryable = retryable


class Transport(Protocol):
    """What the bot needs from a chat network.

    `start(sink)` begins delivering events to `sink` and returns when the
    transport has finished (end of input for the simulator, shutdown for
    wechaty). `send` delivers one message or raises `SendError`; it is only
    ever called by the outbox.
    """

    name: str

    async def start(self, sink: EventSink) -> None: ...

    async def send(self, message: Outgoing) -> None: ...

    async def stop(self) -> None: ...

    async def remove_member(self, group_id: str, member_id: str) -> bool:
        """Remove a member from a group (a leader's `/kick`, or moderation's `auto_kick`).

        True when the network removed them; False when this transport cannot (WeChat lets
        only the group's owner remove members): the leader is then asked to do it by hand.
        Transports without the method are treated as unable (see `remove_member` below).
        """
        ...


async def remove_member(transport: object, group_id: str, member_id: str) -> bool:
    """Ask `transport` to remove a member; False when it has no removal or it failed (logged there)."""
    remove = getattr(transport, "remove_member", None)
    if remove is None:
        return False
    return bool(await remove(group_id, member_id))
