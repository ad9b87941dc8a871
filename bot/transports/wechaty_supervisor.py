"""Connection supervision: connect, pump events in arrival order, watch liveness, reconnect.

Why a module of its own: the lifecycle (backoff, heartbeat, the one worker that hands events to
the sink in order, the status events the bot sees when the link drops) is independent of how a
payload becomes an event and of how a text is sent. It never imports `wechaty`: the SDK comes in
as a `WechatySdk`. Workaround numbers refer to the list in `bot.transports.wechaty_adapter`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from loguru import logger

from bot.events import Event, TransportStatus
from bot.transports.base import EventSink
from bot.transports.wechaty_connection import Connection, Disconnected, WechatySdk, probe, split_endpoint
from bot.transports.wechaty_events import PUPPET_EVENTS, EventConverter, now

_Queue = asyncio.Queue[tuple[str, Any]]


class ConnectionSupervisor:
    """Runs connections one after another until `stopping` is set.

    Events are converted and delivered by ONE worker task, in the order the service sent them:
    each `sink(event)` is awaited before the next event is read (the bot relies on that order).
    `conn` is the live connection (None between connections); `send` reads it.
    """

    def __init__(
        self,
        sdk: WechatySdk,
        endpoint: str,
        token: str,
        converter: EventConverter,
        *,
        reconnect_initial: float,
        reconnect_max: float,
        connect_timeout: float,
        heartbeat_interval: float,
        payload_ttl: float,
    ) -> None:
        self.sdk = sdk
        self.endpoint = endpoint
        self.token = token
        self.host, self.port = split_endpoint(endpoint)
        self.converter = converter
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.connect_timeout = connect_timeout
        self.heartbeat_interval = heartbeat_interval
        self.payload_ttl = payload_ttl
        self.conn: Connection | None = None
        self.stopping = asyncio.Event()
        self.reconnecting = False
        self._sink: EventSink | None = None

    async def run(self, sink: EventSink) -> None:
        """Connect, deliver to `sink`, and reconnect with exponential backoff until `stopping`."""
        self._sink = sink
        delay = self.reconnect_initial
        failures = 0
        while not self.stopping.is_set():
            was_up = False
            try:
                was_up = await self._run_connection()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if failures == 1 and not self.reconnecting:
                    await self._status("error", f"cannot connect to puppet service {self.endpoint}: {exc!r}")
                logger.warning(
                    "wechaty: connection to {} failed ({!r}); retry in {:.1f}s", self.endpoint, exc, delay
                )
            if self.stopping.is_set():
                break
            if was_up:
                failures = 0
                delay = self.reconnect_initial
                self.reconnecting = True
                await self._status("disconnected", f"lost puppet service {self.endpoint}; reconnecting")
                logger.warning("wechaty: disconnected from {}; reconnecting in {:.1f}s", self.endpoint, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=delay)
            delay = min(delay * 2, self.reconnect_max)

    async def _run_connection(self) -> bool:
        """Run one connection until it ends; returns whether it ever got logged in."""
        await probe(self.host, self.port, self.connect_timeout)
        conn = Connection.open(self.sdk, self.endpoint, self.token, payload_ttl=self.payload_ttl)
        # WORKAROUND 3: the pieces of `Wechaty.start()` without its 60 s sleep / loop.stop().
        await conn.init_puppet()

        queue: _Queue = asyncio.Queue()
        puppet = conn.puppet
        for event_name in PUPPET_EVENTS:
            # WORKAROUND 5: plain (non-async) listeners run inside emit(), i.e. in stream order.
            puppet.on(event_name, self._enqueue(queue, event_name))

        self.conn = conn
        tasks: list[asyncio.Task[Any]] = []
        try:
            listen = asyncio.create_task(puppet.start(), name="wechaty-listen")
            worker = asyncio.create_task(self._work(conn, queue), name="wechaty-events")
            stop_wait = asyncio.create_task(self.stopping.wait(), name="wechaty-stop-wait")
            tasks = [listen, worker, stop_wait]
            if self.heartbeat_interval > 0:
                tasks.append(asyncio.create_task(self._heartbeat(conn), name="wechaty-heartbeat"))
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop_wait and not task.cancelled() and task.exception() is not None:
                    logger.warning("wechaty: {} ended: {!r}", task.get_name(), task.exception())
            return conn.self_id != ""  # set by a login on this connection
        finally:
            conn.logged_in = False
            self.conn = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await conn.close(graceful=self.stopping.is_set(), timeout=self.connect_timeout)

    async def _heartbeat(self, conn: Connection) -> None:
        """WORKAROUND 9: a hung TCP connection never ends the event stream by itself."""
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await asyncio.wait_for(conn.puppet.ding("tuanbot"), timeout=self.connect_timeout)
            except Exception as exc:
                raise Disconnected(f"heartbeat failed: {exc!r}") from exc

    @staticmethod
    def _enqueue(queue: _Queue, event_name: str) -> Callable[..., None]:
        def listener(payload: Any = None, *_: Any) -> None:
            queue.put_nowait((event_name, payload))

        return listener

    async def _work(self, conn: Connection, queue: _Queue) -> None:
        while True:
            event_name, payload = await queue.get()
            try:
                events = await self.converter.convert(
                    conn, event_name, payload, reconnecting=self.reconnecting
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("wechaty: could not convert {} event {!r}", event_name, payload)
                continue
            if event_name == "login":
                self.reconnecting = False  # the next login is a fresh one unless the link drops again
            for event in events:
                await self._deliver(event)

    async def _deliver(self, event: Event) -> None:
        if self._sink is None:
            return
        try:
            await self._sink(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("wechaty: event sink failed on {!r}", event)

    async def _status(self, kind: str, detail: str = "", *, group_id: str = "", account_id: str = "") -> None:
        await self._deliver(
            TransportStatus(kind=kind, time=now(), detail=detail, group_id=group_id, account_id=account_id)
        )
