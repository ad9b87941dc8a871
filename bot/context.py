"""What a handler gets besides the event: services and ways to answer."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from loguru import logger

from bot.compliance.adlaw_guard import AdlawGuard
from bot.events import Event, GroupMessage, MemberJoined, MemberLeft, PrivateMessage
from bot.handler import HandlerSpec
from bot.vocab import Priority, Role

if TYPE_CHECKING:
    from bot.campaign.runtime import CampaignRuntime
    from bot.clock import Clock
    from bot.config import Config
    from bot.inbound import InboundRecorder
    from bot.outbox import Outbox
    from bot.roles import RoleBook
    from bot.router import Router
    from bot.shared_state import SharedState
    from bot.storage.repo import Repo
    from bot.storage.rowops import RowOp
    from bot.templates import Renderer


T = TypeVar("T")


def no_view(event: Event) -> None:
    """The default per-message view: none (features that need one get the app's `view_of`)."""
    return None


@dataclass
class Services:
    """The bot's long-lived parts, shared by every handler and job.

    `view_of(event)` builds the per-message view handed to handler matchers (see
    `bot.router`); the app replaces the default. `inbound` writes the inbound bookkeeping
    behind the loop: readers of the inbound log, groups, members or memberships call
    `flush_inbound()` first so they see every row recorded so far.
    """

    config: Config
    repo: Repo
    renderer: Renderer
    outbox: Outbox
    clock: Clock
    roles: RoleBook
    router: Router | None = None
    _by_type: dict[type, Any] = field(default_factory=dict, repr=False)
    _campaigns: CampaignRuntime | None = field(default=None, repr=False)
    view_of: Callable[[Event], Any] = no_view
    inbound: InboundRecorder | None = None
    # Work handlers hand off and finish later (an order commits after its handler returned):
    # `settle()` waits for it. Shutdown calls it before the last drain; tests after each message.
    settlers: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)
    # Memory other account processes' writes can make stale (bot.shared_state; several accounts).
    shared_state: list[SharedState] = field(default_factory=list, repr=False)

    async def settle(self) -> None:
        """Wait until the work handed off so far (and meanwhile) is done and answered."""
        for settle in list(self.settlers):
            await settle()

    def write_behind(self, row: RowOp) -> None:
        """Queue a row a handler records (an audit line, an unanswered question) for the app's
        write-behind writer: the loop neither writes nor waits. A bare Services writes it now."""
        if self.inbound is not None:
            self.inbound.writer.put(row)
            return
        with self.repo.engine.begin() as conn:
            conn.execute(row.statement, dict(row.params))

    async def written_behind(self, what: str) -> None:
        """Wait (off the loop) until the rows queued so far are committed, before reading them back;
        a failure is only logged (the writer reports storage trouble): read what is there."""
        if self.inbound is None:
            return
        try:
            await self.inbound.written()
        except Exception as exc:
            logger.warning("{} not fully written before reading it: {}", what, exc)

    def send_image(self, group_id: str, path: Path | str, *, priority: int = Priority.DEFAULT) -> int:
        """Queue a picture already written to disk (a PNG under the data folder) to a group; its
        outbox id. A job or a handler calls this; a node hook queues through its claim instead
        (`Draft.image` with `Outbox.enqueue_in`), so the picture is sent once with the node."""
        return self.outbox.enqueue_image(path, group_id=group_id, priority=priority)

    def flush_inbound(self, timeout: float | None = 30.0) -> bool:
        """Commit the inbound rows queued so far (blocks the caller); True if all were written."""
        return self.inbound.flush(timeout) if self.inbound is not None else True

    # -- the campaign runtime: always there (empty until campaigns load) -----------------------
    @property
    def campaigns(self) -> CampaignRuntime:
        """The live campaigns; `App.build` attaches the runtime before anything can ask."""
        if self._campaigns is None:
            raise RuntimeError("no campaign runtime attached: build the app with App.build")
        return self._campaigns

    def attach_campaigns(self, runtime: CampaignRuntime) -> None:
        self._campaigns = runtime

    # -- feature services, found by type (never by a string key) ------------------------------
    def provide(self, service: T, as_type: type[T] | None = None) -> T:
        """Register a feature's service under its type (or a protocol it implements)."""
        self._by_type[as_type or type(service)] = service
        return service

    def find(self, kind: type[T]) -> T | None:
        """The service of this type, or None when its feature is not installed."""
        found: T | None = self._by_type.get(kind)
        return found

    def get(self, kind: type[T]) -> T:
        """The service of this type; a missing one is a wiring mistake, named in the error."""
        found = self.find(kind)
        if found is None:
            raise LookupError(f"no {kind.__name__} service: is its feature in handlers.features.FEATURES?")
        return found

    def get_or_make(self, kind: type[T], make: Callable[[], T]) -> T:
        """A feature's own per-process state, made on first use (each keeps its caches bounded)."""
        found = self.find(kind)
        return found if found is not None else self.provide(make(), kind)


@dataclass(frozen=True)
class CommandCall:
    """A parsed slash command: `/stock A1 +20` -> name 'stock', args ('A1', '+20')."""

    name: str
    args: tuple[str, ...]
    raw_args: str


@dataclass
class Context:
    """Per-event context handed to handlers (PTB's CallbackContext, smaller)."""

    event: Event
    services: Services
    role: Role = Role.MEMBER
    command: CommandCall | None = None
    match: re.Match[str] | None = None
    spec: HandlerSpec | None = None
    intent: Any = None  # what the spec's matcher returned (None for handlers without one)
    view: Any = None  # the per-message view, when a matcher asked for it

    @property
    def repo(self) -> Repo:
        return self.services.repo

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def args(self) -> tuple[str, ...]:
        return self.command.args if self.command else ()

    @property
    def group_id(self) -> str:
        return getattr(self.event, "group_id", "")

    @property
    def sender_id(self) -> str:
        sender = getattr(self.event, "sender", None)
        return sender.id if sender is not None else ""

    def running_campaigns(self) -> CampaignRuntime | None:
        """The campaign runtime if the timeline runs in this process; else say so and None."""
        runtime = self.services.campaigns
        if not runtime.running:
            self.reply("campaign/not_running.j2", priority=Priority.COMMAND)
            return None
        return runtime

    def render(self, template: str, /, **variables: Any) -> str:
        return self.services.renderer.render(template, bot_name=self.config.bot.name, **variables)

    def send_group(
        self,
        group_id: str,
        template: str,
        /,
        *,
        priority: int = Priority.DEFAULT,
        kind: str = "reply",
        replace_key: str = "",
        mentions: tuple[str, ...] = (),
        delay: float = 0.0,
        **variables: Any,
    ) -> int:
        """Queue a templated group post; it leaves when the outbox's limits allow (and not before `delay`)."""
        text = self.render(template, **variables)
        return self.services.outbox.enqueue(
            text,
            group_id=group_id,
            priority=priority,
            kind=kind,
            replace_key=replace_key,
            mentions=mentions,
            delay=delay,
        )

    def send_image(self, group_id: str, path: Path | str, /, *, priority: int = Priority.DEFAULT) -> int:
        """Queue a picture file to a group (`Services.send_image`); it leaves when the limits allow."""
        return self.services.send_image(group_id, path, priority=priority)

    def send_private(
        self,
        member_id: str,
        template: str,
        /,
        *,
        priority: int = Priority.DEFAULT,
        kind: str = "private",
        **variables: Any,
    ) -> int:
        text = self.render(template, **variables)
        return self.services.outbox.enqueue(text, member_id=member_id, priority=priority, kind=kind)

    def refused_claims(self, what: str, *texts: str) -> bool:
        """A leader's text for the group (a welcome, an FAQ entry, a broadcast) with a 广告法 claim is
        refused: the leader is told privately each word, its reason and a rewording (True then)."""
        services = self.services
        group_id = getattr(self.event, "group_id", "")
        guard = services.get_or_make(AdlawGuard, lambda: AdlawGuard(services.config))
        hits = [hit for text in texts for hit in guard.check_leader_text(group_id, text)]
        if hits:
            self.send_private(
                self.sender_id,
                "compliance/adlaw_refused.j2",
                priority=Priority.COMMAND,
                what=what,
                hits=hits,
                group_name=services.repo.group_name(group_id),
            )
        return bool(hits)

    def reply(
        self,
        template: str,
        /,
        *,
        priority: int = Priority.DEFAULT,
        kind: str = "reply",
        replace_key: str = "",
        mention: bool = False,
        delay: float = 0.0,
        **variables: Any,
    ) -> int:
        """Answer where the event came from: the group, or privately."""
        event = self.event
        if isinstance(event, GroupMessage | MemberJoined | MemberLeft):
            mentions = (event.sender.id,) if mention and isinstance(event, GroupMessage) else ()
            return self.send_group(
                event.group_id,
                template,
                priority=priority,
                kind=kind,
                replace_key=replace_key,
                mentions=mentions,
                delay=delay,
                **variables,
            )
        if isinstance(event, PrivateMessage):
            return self.send_private(event.sender.id, template, priority=priority, kind=kind, **variables)
        raise TypeError(f"cannot reply to {type(event).__name__}")

    def usage(self) -> int:
        """Reply with this command's usage line: the answer to a malformed command."""
        assert self.spec is not None
        return self.reply(
            "errors/usage.j2",
            usage=self.spec.usage,
            command=self.spec.command,
            mention=True,
            priority=Priority.COMMAND,
        )
