"""Wiring: config -> storage, templates, outbox, roles, router, scheduler, transport.

Nothing here runs at import time; `App.build` makes the parts and `App.run`
starts them, so tests can build as many isolated apps as they like.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from loguru import logger

from bot.accounts import AccountDirectory
from bot.campaign.runtime import CampaignRuntime
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.context import Services
from bot.events import (
    Event,
    GroupMessage,
    PrivateMessage,
    TransportStatus,
)
from bot.feature import Feature, FeatureFigures, Hook, Lifecycle, as_feature, node_kinds
from bot.gc_policy import QuietFullPasses
from bot.handler import collect
from bot.health import HealthMonitor
from bot.inbound import InboundRecorder
from bot.lanes import Lanes
from bot.logging_setup import drain_logs
from bot.outbox import Outbox
from bot.roles import RoleBook
from bot.router import DispatchResult, Router
from bot.schema import create_schema
from bot.shared_state import Follow
from bot.storage.absences import clear_absence, record_absence
from bot.storage.engine import make_engine
from bot.storage.lease import LEASE_NAME, ProcessLeaseHolder, account_lease_name
from bot.storage.outbox_store import OutboxStore
from bot.storage.repo import Repo
from bot.templates import DEFAULT_TEMPLATE_DIR, Renderer
from bot.transports.base import Transport
from bot.trouble import TroubleDesk, is_storage_error
from bot.view import view_of
from bot.vocab import Priority, Role


class App:
    """One running bot: its services, its router and (once running) its transport."""

    def __init__(self, services: Services, router: Router, features: list[Feature] | None = None) -> None:
        self.services = services
        self.router = router
        self.features = features or []
        self.transport: Transport | None = None
        self.startup_hooks: list[Callable[[App], Any]] = []
        self.shutdown_hooks: list[Callable[[App], Any]] = []
        self.health = services.provide(HealthMonitor(services.config.monitoring))  # the board reads it
        self.accounts: AccountDirectory | None = None  # several accounts: who serves which group
        self.trouble = TroubleDesk(self.notify_admins)
        self.lease: ProcessLeaseHolder | None = None
        # The inbound bookkeeping, written behind the event loop (bot/inbound.py).
        self.inbound = services.inbound = InboundRecorder(
            services.repo,
            router.seen,
            on_trouble=lambda exc: self.trouble.failed("storage", exc, services.clock.now()),
            on_recovered=lambda: self.trouble.ok("storage", services.clock.now()),
            in_process=services.config.database.writer_process,
        )
        # What the transport hands messages to: a message waiting for a thread holds only its
        # group. (`handle_event` looked up per message: a test may wrap it.)
        self.lanes: Lanes[DispatchResult] = Lanes(lambda event: self.handle_event(event), self._lane_of)

    @classmethod
    def build(
        cls,
        config: Config,
        *,
        clock: Clock | None = None,
        features: Sequence[Feature | ModuleType] | None = None,
        rng: random.Random | None = None,
        hold_lease: bool = False,
        restore_outbox: bool = True,
        account: str = "",
    ) -> App:
        """Make every part. With `hold_lease` (the real `tuanbot run`), first take the database's
        one-process lease, before anything reads the queue: raises `LeaseHeld` if a bot runs.

        A command that only reads beside a running bot (`report`, `lists`, `campaign show`) builds
        with `restore_outbox=False`: restoring the queue marks every message caught mid-send as
        uncertain, which is right for the bot's own restart and wrong for another process's sends.

        `account` (`tuanbot run --account ID`): this process is that account of `accounts:`; with
        several accounts it holds that account's lease, sends only its rows and serves its groups."""
        from handlers.features import FEATURES

        clock = clock or SystemClock()
        engine = make_engine(config.database_url(), busy_timeout_ms=config.database.busy_timeout_ms)
        create_schema(engine)
        directory = AccountDirectory.from_config(config, account) if account else None
        shared = account if directory is not None and len(directory.order) > 1 else ""
        lease: ProcessLeaseHolder | None = None
        if hold_lease:
            lease = ProcessLeaseHolder(engine, name=account_lease_name(shared) if shared else LEASE_NAME)
            lease.acquire()
        repo = Repo(engine)
        renderer = Renderer(DEFAULT_TEMPLATE_DIR, timezone=config.bot.timezone)
        store = OutboxStore(engine, shared, in_process=config.database.writer_process)
        outbox = Outbox(store, clock, config.outbox, timezone=config.bot.timezone, rng=rng)
        services = Services(
            config=config,
            repo=repo,
            renderer=renderer,
            outbox=outbox,
            clock=clock,
            roles=RoleBook(config, repo),
        )
        services.view_of = view_of(services)
        services.shared_state.append(Follow(services.roles.read_grants, services.roles.follow))
        chosen = [as_feature(f) for f in (features if features is not None else FEATURES)]
        router = Router(collect([module for feature in chosen for module in feature.modules]))
        services.router = router
        app = cls(services, router, chosen)
        app.lease = lease
        if shared and directory is not None:
            app.accounts = directory
            outbox.accounts = directory
        runners, hooks = node_kinds(chosen)
        services.attach_campaigns(CampaignRuntime(services, app.notify_admins, runners=runners, hooks=hooks))
        services.provide(FeatureFigures(tuple((f.name, f.figures) for f in chosen if f.figures is not None)))
        lifecycle = Lifecycle()
        for feature in chosen:
            if feature.setup is not None:
                feature.setup(services, lifecycle)
        app.startup_hooks.extend(_app_hook(hook) for hook in lifecycle.starting)
        app.shutdown_hooks.extend(_app_hook(hook) for hook in lifecycle.stopping)
        outbox.on_budget_warning = app._budget_warning
        outbox.on_trouble = app._outbox_trouble
        outbox.on_recovered = app._outbox_recovered
        if restore_outbox:
            outbox.load()
        else:
            outbox.store.seed_ids()  # ids still follow the table's, should the command queue anything
        app.inbound.load()
        return app

    # -- inbound -----------------------------------------------------------------
    async def handle_event(self, event: Event) -> DispatchResult:
        """Record what happened, then dispatch it. Never raises.

        A storage failure (locked database, full disk) is logged and told to admins once
        per episode; the bot goes on serving what it can without the database.
        """
        now = self.services.clock.now()
        recorded = True
        if self.accounts is not None and not self._serves(event):
            return DispatchResult()  # another account serves this group and hears it too
        try:
            if not self.inbound.record(event):
                return DispatchResult(duplicate=True)
            if isinstance(event, TransportStatus):
                self._on_status(event)
            if self.inbound.is_barrier(event) or self.inbound.failing or "storage" in self.trouble.open:
                await self.inbound.written()  # rows handlers read at once, or: is storage back?
        except Exception as exc:
            recorded = False
            logger.opt(exception=True).error("failed to record inbound event {}", type(event).__name__)
            if is_storage_error(exc):
                self.trouble.failed("storage", exc, now)
        try:
            result = await self.router.dispatch(event, self.services, deduped=True)
        except Exception as exc:  # the router promises not to raise; this is the last backstop
            logger.opt(exception=True).error("dispatch raised on {}", type(event).__name__)
            result = DispatchResult(errors=[exc])
        storage_errors = [e for e in result.errors if is_storage_error(e)]
        if storage_errors:
            self.trouble.failed("storage", storage_errors[0], now)
        elif recorded and isinstance(event, GroupMessage | PrivateMessage):
            self.trouble.ok("storage", now)
        return result

    def _lane_of(self, event: Event) -> str | None:
        """A member's group message runs in its group's lane; anything else is a barrier
        (`bot.lanes`): a leader's command applies before the messages that follow it."""
        if type(event) is not GroupMessage:
            return None
        if self.services.roles.role_of(event.sender.id, event.group_id) is not Role.MEMBER:
            return None
        return event.group_id

    def _serves(self, event: Event) -> bool:
        """Several accounts: whether this process acts on `event`; notes who it heard (it may
        write to them privately) and whether it is back in a group it was removed from."""
        accounts = self.accounts
        if accounts is None or isinstance(event, TransportStatus):
            return True
        group_id = getattr(event, "group_id", "")
        if group_id and accounts.is_absent(group_id):  # removed earlier, hearing it again: added back
            self._in_background(clear_absence, self.services.repo.engine, accounts.me, group_id)
        if group_id and not accounts.handles(group_id):
            return False
        sender = getattr(event, "sender", None)
        for member in (sender,) if sender is not None else getattr(event, "members", ()):
            accounts.hear(member.id)
        return True

    def _in_background(self, work: Callable[..., object], *args: object) -> None:
        """A small write the loop must not wait for (the peer sync reads it within a second)."""
        asyncio.get_running_loop().run_in_executor(None, work, *args)

    def _on_status(self, event: TransportStatus) -> None:
        logger.bind(kind=event.kind, group=event.group_id).warning(
            "transport status: {} {}", event.kind, event.detail
        )
        if self.accounts is not None and self.lease is not None and event.kind in ("login", "logout"):
            # The other accounts read it within a second and take this account's groups over (or back).
            self._in_background(self.lease.set_state, "online" if event.kind == "login" else "logged_out")
        if self.accounts is not None and event.kind == "removed_from_group" and event.group_id:
            self._in_background(record_absence, self.services.repo.engine, self.accounts.me, event.group_id)
        if event.kind == "reconnected":
            self.services.outbox.retry_now()
        for notice in self.health.on_status(event):
            self.notify_admins(notice.template, **notice.variables)

    def flush_inbound(self, timeout: float | None = 30.0) -> bool:
        """Commit the inbound bookkeeping queued so far (for readers of those tables)."""
        return self.inbound.flush(timeout)

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
    async def settle(self) -> None:
        """Every message received so far is handled, and the work it handed off (orders
        committing) is done and answered. Not for handlers: they run inside the lanes."""
        await self.lanes.drain()
        await self.services.settle()

    async def run(self, transport: Transport, *, drain_seconds: float = 600.0) -> None:
        """Run until the transport finishes (end of simulator input, or shutdown)."""
        self.transport = transport
        self.services.outbox.attach(transport)
        for hook in self.startup_hooks:
            result = hook(self)
            if asyncio.iscoroutine(result):
                await result
        # What start-up built lives as long as the process. Frozen, a full GC pass (which holds
        # the GIL: 140-280 ms over the start-up heap, docs/performance.md) walks only what came after.
        gc.collect()
        gc.freeze()
        sender = asyncio.create_task(self.services.outbox.run(), name="outbox")
        full_passes = QuietFullPasses(lambda: self.inbound.writer.ops_put)
        guards: list[asyncio.Task[None]] = [asyncio.create_task(full_passes.run(), name="gc-full-passes")]
        if self.lease is not None:
            guards.append(asyncio.create_task(self.lease.keep(), name="lease"))
            guards.append(
                asyncio.create_task(self._stop_when_lease_lost(transport, sender), name="lease-lost")
            )
        try:
            await transport.start(self.lanes.receive)
            logger.info("transport {} finished; sending what is still queued", transport.name)
            await self.settle()
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
            await self.lanes.cancel()
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
            await asyncio.to_thread(self.inbound.close)
            await asyncio.to_thread(self.services.outbox.store.close)
            await asyncio.to_thread(drain_logs)
            if self.lease is not None:
                self.lease.release()
            gc.unfreeze()  # a test process builds many apps: let this one's heap be collected

    async def _stop_when_lease_lost(self, transport: Transport, sender: asyncio.Task[None]) -> None:
        """Another process owns the database now: send nothing more and stop reading."""
        assert self.lease is not None
        await self.lease.lost.wait()
        sender.cancel()
        self.services.outbox.transport = None
        await transport.stop()


def _app_hook(hook: Hook) -> Callable[[App], Any]:
    """A feature's start/stop step, in the app's hook shape (features never see the app)."""
    return lambda _app: hook()
