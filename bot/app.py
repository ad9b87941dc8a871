"""Wiring: config -> storage, templates, outbox, roles, router, scheduler, transport.

Nothing here runs at import time; `App.build` makes the parts and `App.run`
starts them, so tests can build as many isolated apps as they like.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from types import ModuleType
from typing import Any

from cachetools import LRUCache
from loguru import logger

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.context import Services
from bot.events import (
    Event,
    GroupMessage,
    GroupRenamed,
    MemberJoined,
    MemberLeft,
    PrivateMessage,
    TransportStatus,
)
from bot.handler import collect
from bot.monitoring.health import HealthMonitor
from bot.outbox import Outbox
from bot.roles import RoleBook
from bot.router import DispatchResult, Router
from bot.storage.engine import init_db, make_engine
from bot.storage.lease import ProcessLeaseHolder
from bot.storage.outbox_store import OutboxStore
from bot.storage.repo import Repo
from bot.templates import DEFAULT_TEMPLATE_DIR, Renderer
from bot.transports.base import Transport
from bot.trouble import TroubleDesk, is_storage_error
from bot.vocab import Priority

KNOWN_GROUPS_CACHE = 20_000
KNOWN_MEMBERS_CACHE = 50_000


class App:
    """One running bot: its services, its router and (once running) its transport."""

    def __init__(self, services: Services, router: Router, features: list[ModuleType] | None = None) -> None:
        self.services = services
        self.router = router
        self.features = features or []
        self.transport: Transport | None = None
        self.startup_hooks: list[Callable[[App], Any]] = []
        self.shutdown_hooks: list[Callable[[App], Any]] = []
        self.health = HealthMonitor(services.config.monitoring)
        self.trouble = TroubleDesk(self.notify_admins)
        self.lease: ProcessLeaseHolder | None = None
        # Caches that spare a database write per message; bounded, because a bot in thousands of
        # groups sees hundreds of thousands of members (a miss only costs one upsert).
        self._known_groups: LRUCache[str, str] = LRUCache(maxsize=KNOWN_GROUPS_CACHE)
        self._known_members: LRUCache[tuple[str, str], str] = LRUCache(maxsize=KNOWN_MEMBERS_CACHE)

    @classmethod
    def build(
        cls,
        config: Config,
        *,
        clock: Clock | None = None,
        features: list[ModuleType] | None = None,
        rng: random.Random | None = None,
        hold_lease: bool = False,
    ) -> App:
        """Make every part. With `hold_lease` (the real `tuanbot run`), first take the database's
        one-process lease, before anything reads the queue: raises `LeaseHeld` if a bot runs."""
        from handlers import FEATURES

        clock = clock or SystemClock()
        engine = make_engine(config.database_url(), busy_timeout_ms=config.database.busy_timeout_ms)
        init_db(engine)
        lease: ProcessLeaseHolder | None = None
        if hold_lease:
            lease = ProcessLeaseHolder(engine)
            lease.acquire()
        repo = Repo(engine)
        renderer = Renderer(DEFAULT_TEMPLATE_DIR, timezone=config.bot.timezone)
        outbox = Outbox(OutboxStore(engine), clock, config.outbox, timezone=config.bot.timezone, rng=rng)
        services = Services(
            config=config,
            repo=repo,
            renderer=renderer,
            outbox=outbox,
            clock=clock,
            roles=RoleBook(config, repo),
        )
        modules = features if features is not None else FEATURES
        router = Router(collect(modules))
        services.router = router
        app = cls(services, router, modules)
        app.lease = lease
        # A feature module may define `setup(app)` to register its services or start-up hooks.
        for module in modules:
            setup = getattr(module, "setup", None)
            if callable(setup):
                setup(app)
        outbox.on_budget_warning = app._budget_warning
        outbox.on_trouble = app._outbox_trouble
        outbox.on_recovered = app._outbox_recovered
        outbox.load()
        return app

    # -- inbound -----------------------------------------------------------------
    async def handle_event(self, event: Event) -> DispatchResult:
        """Record what happened, then dispatch it. Never raises.

        A storage failure (locked database, full disk) is logged and told to admins once
        per episode; the bot goes on serving what it can without the database.
        """
        now = self.services.clock.now()
        recorded = True
        try:
            if not self._record(event):
                return DispatchResult(duplicate=True)
        except Exception as exc:
            recorded = False
            logger.opt(exception=True).error("failed to record inbound event {}", type(event).__name__)
            if is_storage_error(exc):
                self.trouble.failed("storage", exc, now)
        try:
            result = await self.router.dispatch(event, self.services)
        except Exception as exc:  # the router promises not to raise; this is the last backstop
            logger.opt(exception=True).error("dispatch raised on {}", type(event).__name__)
            result = DispatchResult(errors=[exc])
        storage_errors = [e for e in result.errors if is_storage_error(e)]
        if storage_errors:
            self.trouble.failed("storage", storage_errors[0], now)
        elif recorded and isinstance(event, GroupMessage | PrivateMessage):
            self.trouble.ok("storage", now)
        return result

    def _record(self, event: Event) -> bool:
        """Bookkeeping before dispatch; False if the event was seen before (a redelivery)."""
        repo, now = self.services.repo, event.time
        if isinstance(event, GroupMessage):
            log = logger.bind(msg_id=event.message_id, group=event.group_id, sender=event.sender.id)
            if not repo.log_inbound(
                event.message_id, "group", event.group_id, event.sender.id, event.text, now
            ):
                log.info("inbound duplicate dropped")
                return False
            log.info("inbound {}: {}", event.sender.name, event.text[:80].replace("\n", " ⏎ "))
            self._touch_group(event.group_id, event.group_name, now)
            key = (event.group_id, event.sender.id)
            if self._known_members.get(key) != event.sender.name:
                repo.touch_member(event.group_id, event.sender.id, event.sender.name, now)
                self._known_members[key] = event.sender.name
        elif isinstance(event, PrivateMessage):
            if not repo.log_inbound(event.message_id, "private", "", event.sender.id, event.text, now):
                return False
            logger.bind(msg_id=event.message_id, sender=event.sender.id).info(
                "inbound private: {}", event.text[:80]
            )
            repo.touch_member("", event.sender.id, event.sender.name, now)
        elif isinstance(event, MemberJoined):
            self._touch_group(event.group_id, event.group_name, now)
            for member in event.members:
                repo.record_join(event.group_id, member.id, member.name, now)
                self._known_members[(event.group_id, member.id)] = member.name
            logger.bind(group=event.group_id).info("joined: {}", ", ".join(m.id for m in event.members))
        elif isinstance(event, MemberLeft):
            for member in event.members:
                repo.record_leave(event.group_id, member.id, now)
                self._known_members.pop((event.group_id, member.id), None)
            logger.bind(group=event.group_id).info("left: {}", ", ".join(m.id for m in event.members))
        elif isinstance(event, GroupRenamed):
            repo.touch_group(event.group_id, event.new_name, now)
            self._known_groups[event.group_id] = event.new_name
        elif isinstance(event, TransportStatus):
            self._on_status(event)
        return True

    def _touch_group(self, group_id: str, name: str, now: Any) -> None:
        if self._known_groups.get(group_id) != name:
            self.services.repo.touch_group(group_id, name, now)
            self._known_groups[group_id] = name

    def _on_status(self, event: TransportStatus) -> None:
        logger.bind(kind=event.kind, group=event.group_id).warning(
            "transport status: {} {}", event.kind, event.detail
        )
        if event.kind == "removed_from_group" and event.group_id:
            self.services.repo.set_bot_present(event.group_id, False, event.time)
        if event.kind == "reconnected":
            self.services.outbox.retry_now()
        for notice in self.health.on_status(event):
            self.notify_admins(notice.template, **notice.variables)

    def check_health(self) -> None:
        """Run the periodic bot-health checks (a scheduled job calls this every minute)."""
        for notice in self.health.check(self.services.clock.now(), self.services.outbox.pending()):
            self.notify_admins(notice.template, **notice.variables)

    # -- outbound helpers ------------------------------------------------------------
    def notify_admins(self, template: str, **variables: Any) -> None:
        text = self.services.renderer.render(template, bot_name=self.services.config.bot.name, **variables)
        for admin in self.services.config.admins:
            self.services.outbox.enqueue(text, member_id=admin, priority=Priority.ALERT, kind="admin")

    def _budget_warning(self, used: int, budget: int) -> None:
        self.notify_admins("admin/budget_warning.j2", used=used, budget=budget)

    def _outbox_trouble(self, kind: str, detail: str) -> None:
        self.notify_admins("admin/outbox_trouble.j2", kind=kind, detail=detail)

    def _outbox_recovered(self) -> None:
        self.notify_admins("admin/outbox_recovered.j2")

    # -- running -----------------------------------------------------------------------
    async def run(self, transport: Transport, *, drain_seconds: float = 600.0) -> None:
        """Run until the transport finishes (end of simulator input, or shutdown)."""
        self.transport = transport
        self.services.outbox.attach(transport)
        for hook in self.startup_hooks:
            result = hook(self)
            if asyncio.iscoroutine(result):
                await result
        sender = asyncio.create_task(self.services.outbox.run(), name="outbox")
        guards: list[asyncio.Task[None]] = []
        if self.lease is not None:
            guards.append(asyncio.create_task(self.lease.keep(), name="lease"))
            guards.append(
                asyncio.create_task(self._stop_when_lease_lost(transport, sender), name="lease-lost")
            )
        try:
            await transport.start(self.handle_event)
            logger.info("transport {} finished; sending what is still queued", transport.name)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            if self.lease is None or not self.lease.lost.is_set():
                await self.services.outbox.drain(max_seconds=drain_seconds)
            left = self.services.outbox.pending()
            if left:
                logger.warning(
                    "{} message(s) still queued at shutdown; they will be sent on next start", left
                )
        finally:
            for task in (sender, *guards):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            for hook in self.shutdown_hooks:
                result = hook(self)
                if asyncio.iscoroutine(result):
                    await result
            await transport.stop()
            if self.lease is not None:
                self.lease.release()

    async def _stop_when_lease_lost(self, transport: Transport, sender: asyncio.Task[None]) -> None:
        """Another process owns the database now: send nothing more and stop reading."""
        assert self.lease is not None
        await self.lease.lost.wait()
        sender.cancel()
        self.services.outbox.transport = None
        await transport.stop()
