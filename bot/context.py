"""What a handler gets besides the event: services and ways to answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.events import Event, GroupMessage, MemberJoined, MemberLeft, PrivateMessage
from bot.handler import HandlerSpec
from bot.vocab import Priority, Role

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.config import Config
    from bot.outbox import Outbox
    from bot.roles import RoleBook
    from bot.router import Router
    from bot.storage.repo import Repo
    from bot.templates import Renderer


@dataclass
class Services:
    """The bot's long-lived parts, shared by every handler and job."""

    config: Config
    repo: Repo
    renderer: Renderer
    outbox: Outbox
    clock: Clock
    roles: RoleBook
    router: Router | None = None
    features: dict[str, Any] = field(default_factory=dict)


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
