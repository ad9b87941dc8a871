"""A test-only feature module for the matcher seam: a handler that runs only on its intent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.context import Context
from bot.events import GroupMessage
from bot.handler import on_message

calls: list[tuple[str, Any, Any]] = []
matched: list[str] = []


@dataclass(frozen=True)
class Grab:
    """The parsed intent: a member grabs `count` of something."""

    count: int


def match_grab(msg: GroupMessage, view: Any) -> Grab | None:
    matched.append(msg.text)
    if not msg.text.startswith("抢"):
        return None
    return Grab(count=len(msg.text) - 1)


@on_message(match=match_grab, priority=10)
async def handle_grab(msg: GroupMessage, ctx: Context) -> bool:
    calls.append(("grab", ctx.intent, ctx.view))
    return True


@on_message(
    match=lambda msg, view: msg.text if view is not None and "view" in msg.text else None, priority=20
)
async def handle_needs_view(msg: GroupMessage, ctx: Context) -> bool:
    calls.append(("view", ctx.intent, ctx.view))
    return True
