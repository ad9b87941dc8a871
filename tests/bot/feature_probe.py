"""A test-only feature module: handlers that record calls, raise, or echo member text."""

from __future__ import annotations

from bot.context import Context
from bot.events import GroupMessage, MemberJoined
from bot.handler import command, on_event, on_message, text_contains
from bot.vocab import Role

calls: list[str] = []


@on_message(priority=10)
async def handle_first_raises(msg: GroupMessage, ctx: Context) -> None:
    calls.append("raises")
    if "boom" in msg.text:
        raise RuntimeError("handler bug: boom")


@on_message(priority=20, when=text_contains("echo"))
async def handle_echo(msg: GroupMessage, ctx: Context) -> bool:
    calls.append("echo")
    ctx.reply("errors/usage.j2", usage=f"{msg.sender.name}: {msg.text}")
    return True


@on_message(priority=30)
async def handle_last(msg: GroupMessage, ctx: Context) -> None:
    calls.append("last")


@on_message(r"^stop", priority=5)
async def handle_stopper(msg: GroupMessage, ctx: Context) -> bool:
    calls.append("stopper")
    return True


@on_event(MemberJoined)
async def handle_join(event: MemberJoined, ctx: Context) -> None:
    calls.append("join")


@command("secret", role=Role.LEADER)
async def handle_secret(msg: GroupMessage, ctx: Context) -> None:
    """/secret — leader-only probe"""
    calls.append("secret")
    ctx.reply("whoami.j2", member_id=ctx.sender_id, role="团长")


@command("crash")
async def handle_crash(msg: GroupMessage, ctx: Context) -> None:
    """/crash — always fails"""
    raise ValueError("internal details that must not reach the group")
