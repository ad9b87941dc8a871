"""One dispatch for every event.

Drops redelivered message ids (wechaty sometimes delivers a message twice),
routes slash commands by name, runs the other handlers in priority order until
one reports it handled the event, and isolates failures: a handler that raises
is logged with the event and the rest still run. The group never sees a
traceback.

The hot path is kept cheap: the duplicate window (`SeenIds`, shared with the app's
inbound recorder, so there is one check) is an OrderedDict; a dispatch reads the
clock twice, not twice per handler, and warns when the whole dispatch was slow,
naming the last handler that ran; a `Context` is made only for a handler that will run.

Matchers (the seam features use to skip work): a `HandlerSpec` may carry
`match(event, view) -> intent | None`, a cheap pure function. The handler body runs
only when it returns something other than None, and gets it as `ctx.intent`. `view`
is the per-message view of the group that the app supplies through
`services.view_of(event)` (live campaigns, their state, the member's role, built from
memory); it is built at most once per message, and only if some matcher is reached
(default: None). Order of checks per handler: `pattern`, `when`, `match`, `role`.
Before walking the handlers, two checks for all of them at once (`bot.gates`) leave out
those whose pattern or declared `words` cannot match: chatter reaches few handlers.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from time import perf_counter

from loguru import logger

from bot.context import CommandCall, Context, Services
from bot.events import Event, GroupMessage, MemberJoined, MemberLeft, PrivateMessage
from bot.gates import NOT_BUILT, Gates
from bot.handler import HandlerSpec
from bot.trace_log import INFO, trace
from bot.vocab import Priority, Role

SLOW_DISPATCH_SECONDS = 0.1
DEDUPE_WINDOW = 50_000
# A name starts with a letter or a CJK character: `/库存` is a command's Chinese alias.
COMMAND_RE = re.compile(r"^\s*[/／]([A-Za-zＡ-Ｚａ-ｚ\u4e00-\u9fff][\wＡ-Ｚａ-ｚ-]*)(?:\s+(.*))?$", re.DOTALL)
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


@dataclass(slots=True)
class DispatchResult:
    """What one dispatch did; `ran` counts the handler bodies that ran, `last` names the latest."""

    duplicate: bool = False
    handled_by: str = ""
    ran: int = 0
    last: str = ""
    failed: list[str] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


class SeenIds:
    """The duplicate window: the newest `size` event ids, in memory (the database key is the backstop)."""

    __slots__ = ("_ids", "size")

    def __init__(self, size: int = DEDUPE_WINDOW) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self.size = size

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: str) -> bool:
        return key in self._ids

    def first_time(self, key: str) -> bool:
        """Remember `key`; False if it was seen before. Empty keys (events without ids) are always new."""
        if not key:
            return True
        ids = self._ids
        if key in ids:
            return False
        ids[key] = None
        if len(ids) > self.size:
            ids.popitem(last=False)
        return True


class Router:
    """Routes events to handler specs collected from the feature modules."""

    def __init__(self, specs: list[HandlerSpec], *, dedupe_window: int = DEDUPE_WINDOW) -> None:
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
        self.gates = {event_type: Gates(listed) for event_type, listed in self.by_type.items()}
        self.seen = SeenIds(dedupe_window)

    def replace(self, old: HandlerSpec, new: HandlerSpec) -> None:
        """Put `new` where the non-command handler `old` was (tests wrap a body to count its runs)."""
        listed = self.by_type[old.event_type]
        listed[listed.index(old)] = new
        self.gates[old.event_type] = Gates(listed)

    def command_specs(self) -> list[HandlerSpec]:
        """Each command once, in name order (for /help)."""
        unique = {spec.command: spec for spec in self.commands.values()}
        return [unique[name] for name in sorted(unique)]

    async def dispatch(self, event: Event, services: Services, *, deduped: bool = False) -> DispatchResult:
        """Route one event. Never raises: even the router's own replies may fail (a full disk).

        `deduped`: the caller (the app's inbound recorder) already checked `self.seen`.
        """
        result = DispatchResult()
        started = perf_counter()
        try:
            await self._dispatch(event, services, result, deduped)
        except Exception as exc:
            result.errors.append(exc)
            logger.bind(event_id=event_id(event)).opt(exception=True).error(
                "dispatch failed on {}", type(event).__name__
            )
        elapsed = perf_counter() - started
        if elapsed > SLOW_DISPATCH_SECONDS:
            logger.bind(handler=result.last).warning(
                "handler {} took {:.0f} ms ({} handler(s) ran)", result.last, elapsed * 1000, result.ran
            )
        return result

    async def _dispatch(
        self, event: Event, services: Services, result: DispatchResult, deduped: bool
    ) -> None:
        if not deduped and not self.seen.first_time(event_id(event)):
            result.duplicate = True
            logger.bind(event_id=event_id(event)).debug("dispatch: duplicate dropped")
            return
        text: str = getattr(event, "text", "")
        kind = event.kind if isinstance(event, GroupMessage) else "text"
        if text and kind == "text" and isinstance(event, GroupMessage | PrivateMessage):
            call = parse_command(text)
            # `/哈哈` is chatter, not a mistyped command: a Chinese name counts only when it is an alias.
            if call is not None and (call.name.isascii() or call.name in self.commands):
                await self._run_command(event, call, services, result)
                return
        gates = self.gates.get(type(event))
        if gates is None:
            return
        specs, view = gates.walk(text, event, services)
        if kind != "text":  # a link, card or picture: never a command, an order or a question
            specs = tuple(s for s in specs if kind in s.kinds or "*" in s.kinds)
        for spec in specs:
            match = None
            if spec.pattern is not None:
                match = spec.pattern.search(text)
                if match is None:
                    continue
            if spec.when is not None and not spec.when.check(event):
                continue
            intent = None
            if spec.match is not None:
                if view is NOT_BUILT:
                    view = services.view_of(event)
                intent = spec.match(event, view)
                if intent is None:
                    continue
            ctx = Context(event=event, services=services, match=match, spec=spec, intent=intent)
            if view is not NOT_BUILT:
                ctx.view = view
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
        if spec is None or (in_group and not spec.group):
            ctx.reply("errors/unknown_command.j2", name=call.name, mention=True, priority=Priority.COMMAND)
            result.handled_by = "unknown-command"
            return
        if not in_group and not spec.private:  # it exists: "no such command" sent leaders hunting
            ctx.reply("errors/group_only.j2", name=call.name, priority=Priority.COMMAND)
            result.handled_by = "group-only-command"
            return
        ctx.role = services.roles.role_of(ctx.sender_id, ctx.group_id)
        if ctx.role < spec.role:
            trace(
                INFO,
                "bot.router:_run_command",
                "dispatch: /{} refused",
                call.name,
                sender=ctx.sender_id,
                group=ctx.group_id,
            )
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
        result.ran += 1
        result.last = spec.name
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
        # Commands always count as handled; other handlers say so by returning True.
        return bool(handled) or bool(spec.command)
