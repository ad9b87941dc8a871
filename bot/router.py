"""One dispatch for every event.

Drops redelivered message ids (wechaty sometimes delivers a message twice),
routes slash commands by name, runs the other handlers in priority order until
one reports it handled the event, and isolates failures: a handler that raises
is logged with the event and the rest still run. The group never sees a
traceback.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field

from loguru import logger

from bot.context import CommandCall, Context, Services
from bot.events import Event, GroupMessage, MemberJoined, MemberLeft, PrivateMessage
from bot.handler import HandlerSpec
from bot.vocab import Priority, Role

COMMAND_RE = re.compile(r"^\s*[/／]([A-Za-zＡ-Ｚａ-ｚ][\wＡ-Ｚａ-ｚ-]*)(?:\s+(.*))?$", re.DOTALL)
MAX_ARGS_LEN = 2000


def parse_command(text: str) -> CommandCall | None:
    """Parse `/name args…` (also full-width `／ｎａｍｅ`); None if the text is not a command."""
    if not text or text.lstrip()[:1] not in "/／":
        return None
    match = COMMAND_RE.match(text)
    if match is None:
        return None
    name = unicodedata.normalize("NFKC", match.group(1)).lower()
    raw = (match.group(2) or "").strip()[:MAX_ARGS_LEN]
    args = tuple(unicodedata.normalize("NFKC", raw).split())
    return CommandCall(name=name, args=args, raw_args=raw)


def event_id(event: Event) -> str:
    if isinstance(event, GroupMessage | PrivateMessage):
        return event.message_id
    if isinstance(event, MemberJoined | MemberLeft):
        return event.event_id
    return ""


@dataclass
class DispatchResult:
    duplicate: bool = False
    handled_by: str = ""
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


class Router:
    """Routes events to handler specs collected from the feature modules."""

    def __init__(self, specs: list[HandlerSpec], *, dedupe_window: int = 50_000) -> None:
        self.specs = specs
        self.commands: dict[str, HandlerSpec] = {}
        for spec in specs:
            if spec.command:
                for name in (spec.command, *spec.aliases):
                    if name in self.commands:
                        raise ValueError(
                            f"command /{name} declared twice: {self.commands[name].name} and {spec.name}"
                        )
                    self.commands[name] = spec
        self.by_type: dict[type, list[HandlerSpec]] = {}
        for spec in sorted((s for s in specs if not s.command), key=lambda s: s.priority):
            self.by_type.setdefault(spec.event_type, []).append(spec)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._dedupe_window = dedupe_window

    def command_specs(self) -> list[HandlerSpec]:
        """Each command once, in name order (for /help)."""
        unique = {spec.command: spec for spec in self.commands.values()}
        return [unique[name] for name in sorted(unique)]

    def _is_duplicate(self, key: str) -> bool:
        if not key:
            return False
        if key in self._seen:
            return True
        self._seen[key] = None
        if len(self._seen) > self._dedupe_window:
            self._seen.popitem(last=False)
        return False

    async def dispatch(self, event: Event, services: Services) -> DispatchResult:
        """Route one event. Never raises: even the router's own replies may fail (a full disk)."""
        result = DispatchResult()
        try:
            await self._dispatch(event, services, result)
        except Exception as exc:
            result.errors.append(exc)
            logger.bind(event_id=event_id(event)).opt(exception=True).error(
                "dispatch failed on {}", type(event).__name__
            )
        return result

    async def _dispatch(self, event: Event, services: Services, result: DispatchResult) -> None:
        if self._is_duplicate(event_id(event)):
            result.duplicate = True
            logger.bind(event_id=event_id(event)).debug("dispatch: duplicate dropped")
            return
        if isinstance(event, GroupMessage | PrivateMessage):
            call = parse_command(event.text)
            if call is not None:
                await self._run_command(event, call, services, result)
                return
        for spec in self.by_type.get(type(event), ()):
            if spec.pattern is not None:
                match = spec.pattern.search(getattr(event, "text", ""))
                if match is None:
                    continue
            else:
                match = None
            if spec.when is not None and not spec.when(event):
                continue
            ctx = Context(event=event, services=services, match=match, spec=spec)
            if spec.role > Role.MEMBER:
                ctx.role = services.roles.role_of(ctx.sender_id, ctx.group_id)
                if ctx.role < spec.role:
                    continue
            if await self._call(spec, event, ctx, result):
                result.handled_by = spec.name
                break

    async def _run_command(
        self,
        event: GroupMessage | PrivateMessage,
        call: CommandCall,
        services: Services,
        result: DispatchResult,
    ) -> None:
        spec = self.commands.get(call.name)
        ctx = Context(event=event, services=services, command=call, spec=spec)
        in_group = isinstance(event, GroupMessage)
        if spec is None or (in_group and not spec.group) or (not in_group and not spec.private):
            ctx.reply("errors/unknown_command.j2", name=call.name, mention=True, priority=Priority.COMMAND)
            result.handled_by = "unknown-command"
            return
        ctx.role = services.roles.role_of(ctx.sender_id, ctx.group_id)
        if ctx.role < spec.role:
            logger.bind(sender=ctx.sender_id, group=ctx.group_id).info("dispatch: /{} refused", call.name)
            ctx.reply(
                "errors/forbidden.j2",
                command=call.name,
                needed=spec.role.name.lower(),
                mention=True,
                priority=Priority.COMMAND,
            )
            result.handled_by = "forbidden"
            return
        if not await self._call(spec, event, ctx, result):
            return
        result.handled_by = spec.name

    async def _call(self, spec: HandlerSpec, event: Event, ctx: Context, result: DispatchResult) -> bool:
        """Run one handler; True if it handled the event. Exceptions are logged, never re-raised."""
        started = time.perf_counter()
        result.ran.append(spec.name)
        try:
            handled = await spec.func(event, ctx)
        except Exception as exc:
            result.failed.append(spec.name)
            result.errors.append(exc)
            log = logger.bind(handler=spec.name, event_id=event_id(event), group=ctx.group_id)
            log.opt(exception=True).error("handler {} failed on {}", spec.name, type(event).__name__)
            if spec.command and ctx.sender_id:
                try:
                    ctx.send_private(ctx.sender_id, "errors/command_failed.j2", command=spec.command)
                except Exception as notice_exc:  # the notice fails too (a full disk): logged, not raised
                    result.errors.append(notice_exc)
                    log.error(
                        "could not tell {} that /{} failed: {}", ctx.sender_id, spec.command, notice_exc
                    )
            return False
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            if elapsed > 100:
                logger.bind(handler=spec.name).warning("handler {} took {:.0f} ms", spec.name, elapsed)
        # Commands always count as handled; other handlers say so by returning True.
        return bool(handled) or bool(spec.command)
