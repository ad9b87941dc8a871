"""WeChat through Wechaty: the only module in tuanbot that imports `wechaty`.

`WechatyTransport` connects to a Wechaty *puppet service* (gRPC) with PyPI's
`wechaty` 0.10.7 + `wechaty-puppet-service` 0.8.10, turns what arrives into our
own events (`bot.events`) and sends `Outgoing` messages. It knows nothing about
group-buying.

The SDK is old and has sharp edges; each workaround below is marked
``WORKAROUND`` and explained where it is applied (see also docs/wechaty.md):

1. Python 3.11 cannot import it (`ValueError: mutable default ... PuppetOptions`):
   `_load_sdk()` gives `PuppetOptions` a `__hash__` before `import wechaty`.
2. `import wechaty` creates `./.wechaty/` (CACHE_DIR) and logs every message at
   INFO through its own stderr handlers: we default CACHE_DIR to a temp dir and
   WECHATY_LOG to `warn` before importing it.
3. `Wechaty.start()` sleeps 60 s and restarts when the connection drops, and
   stops the whole event loop (the process exits with status 0) when the
   endpoint is not reachable yet. We never call it: we run the puppet ourselves
   and reconnect with our own exponential backoff.
4. The plugin manager probes a local port on login (`WechatyOptions(port=...)`,
   default 5000) and fails if something listens there. We do not start the
   plugin manager at all, and still hand it a free port.
5. The SDK's event bridge handles each event in its own task, so a slow payload
   fetch can reorder messages (fatal for a 接龙 list). We listen on the puppet
   directly and convert events one at a time, in arrival order.
6. `Room`/`Contact` objects are cached in class-level pools shared by every
   `Wechaty` instance and bound to the puppet that created them, so after a
   reconnect they would talk to a dead connection: each connection gets fresh
   pools. `Room.ready(force_sync=True)` is a no-op once loaded, so topics and
   names are refreshed by dropping the cached payload (on `room-topic`, and
   after `payload_ttl` seconds).
7. Sending: `Room.say` loads the sent message by the id the service returns;
   some services (the mock) return none, so a delivered message would raise
   and be retried (a duplicate). We call `puppet.message_send_text` directly.
8. The SDK only speaks plaintext gRPC (`grpclib.Channel` without SSL) and puts
   the token in the HTTP/2 `:authority` header; the service must accept
   non-TLS clients (`WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_SERVER=true`).
9. The SDK has no liveness check on the event stream: we `ding` the service
   every `heartbeat_interval` seconds and reconnect if it does not answer.
10. `PuppetService` logs the token in clear text (WARNING) when given both an
   endpoint and a token: that logger is raised to ERROR.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from loguru import logger

from bot.events import (
    Event,
    GroupMessage,
    GroupRenamed,
    Member,
    MemberJoined,
    MemberLeft,
    Outgoing,
    PrivateMessage,
    TransportStatus,
)
from bot.transports.base import EventSink, SendError

ENDPOINT_ENV = "WECHATY_PUPPET_SERVICE_ENDPOINT"
TOKEN_ENV = "WECHATY_PUPPET_SERVICE_TOKEN"
# Separator WeChat puts after an @mention (U+2005 FOUR-PER-EM SPACE), as the SDK's Room.say does.
AT_SEPARATOR = "\u2005"
_PUPPET_EVENTS = ("message", "login", "logout", "room-join", "room-leave", "room-topic", "scan", "error")


@dataclass(frozen=True, slots=True)
class _Sdk:
    """The pieces of the SDK this adapter uses (imported lazily by `_load_sdk`)."""

    Wechaty: Any
    WechatyOptions: Any
    MessageType: Any
    ScanStatus: Any
    AsyncIOScheduler: Any
    PuppetOptions: Any


_sdk: _Sdk | None = None


def apply_py311_shim(puppet_schema: ModuleType) -> bool:
    """WORKAROUND 1: make `wechaty` importable on Python >= 3.11.

    `wechaty.WechatyOptions` is a dataclass with `puppet_options: PuppetOptions =
    PuppetOptions()`. Since Python 3.11 a dataclass rejects any default whose
    class is unhashable (`__hash__ is None`, which `@dataclass(eq=True)` sets),
    so `import wechaty` raises `ValueError: mutable default <class
    'wechaty_puppet.schemas.puppet.PuppetOptions'> for field puppet_options is
    not allowed: use default_factory`. Restoring the identity hash satisfies the
    check. The shared default instance is harmless for us: we always pass our
    own options. Returns True if the patch was applied (False: already hashable).
    """
    options_cls = puppet_schema.PuppetOptions
    if options_cls.__hash__ is None:
        options_cls.__hash__ = object.__hash__
        return True
    return False


def _load_sdk() -> _Sdk:
    """Import the SDK once, with the workarounds it needs; no effect until called."""
    global _sdk
    if _sdk is not None:
        return _sdk
    # WORKAROUND 2: `wechaty.config` creates CACHE_DIR (default `./.wechaty`) at import time, and
    # `wechaty_puppet.get_logger` gives each SDK logger its own INFO stderr handler at import time.
    os.environ.setdefault("CACHE_DIR", os.path.join(tempfile.gettempdir(), "tuanbot-wechaty-cache"))
    os.environ.setdefault("WECHATY_LOG", "warn")

    import wechaty_puppet.schemas.puppet as puppet_schema

    apply_py311_shim(puppet_schema)  # must run before `import wechaty`

    import wechaty
    import wechaty_puppet_service.puppet  # noqa: F401  (creates the "PuppetService" logger)
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from wechaty_puppet import MessageType, ScanStatus

    # WORKAROUND 10: PuppetService logs the token in clear text at WARNING whenever both an endpoint
    # and a token are given (always, for us): keep that logger to errors.
    logging.getLogger("PuppetService").setLevel(logging.ERROR)

    _sdk = _Sdk(
        Wechaty=wechaty.Wechaty,
        WechatyOptions=wechaty.WechatyOptions,
        MessageType=MessageType,
        ScanStatus=ScanStatus,
        AsyncIOScheduler=AsyncIOScheduler,
        PuppetOptions=puppet_schema.PuppetOptions,
    )
    return _sdk


def _free_local_port() -> int:
    """A local TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _split_endpoint(endpoint: str) -> tuple[str, int]:
    """`host:port` (an optional http:// prefix is tolerated) -> (host, port)."""
    rest = endpoint.split("://", 1)[-1].rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"wechaty endpoint must be host:port, got {endpoint!r}")
    return host.strip("[]"), int(port)


def _to_datetime(timestamp: float | int | None) -> datetime:
    """Puppet timestamps come in seconds or milliseconds; we use aware UTC datetimes."""
    if not timestamp:
        return datetime.now(UTC)
    seconds = timestamp / 1000 if timestamp > 2_145_888_000 else float(timestamp)
    return datetime.fromtimestamp(seconds, UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class _Disconnected(Exception):
    """The puppet service connection ended or failed its heartbeat."""


class _Connection:
    """One live connection: a `Wechaty` instance, its puppet and the tasks around it."""

    def __init__(self, wechaty: Any, scheduler: Any) -> None:
        self.wechaty = wechaty
        self.scheduler = scheduler
        self.logged_in = False
        self.self_id = ""
        self.self_name = ""
        self.loaded_at: dict[tuple[str, str], float] = {}

    @property
    def puppet(self) -> Any:
        return self.wechaty.puppet


class WechatyTransport:
    """A `Transport` over a Wechaty puppet service.

    `start(sink)` runs until `stop()`: it connects, delivers events in the order the
    service sends them, and reconnects with exponential backoff when the service
    goes away. While there is no logged-in connection `send` raises
    `SendError(retryable=True)` at once, so the outbox keeps the message queued.

    Args:
        endpoint: `host:port` of the puppet service; empty -> $WECHATY_PUPPET_SERVICE_ENDPOINT.
        token: the service token; empty -> $WECHATY_PUPPET_SERVICE_TOKEN.
        bot_name: the bot's display name, used to detect "@name" mentions when the
            service gives no mention ids (default: the logged-in account's name).
        reconnect_initial: first backoff delay in seconds; doubled per failed attempt.
        reconnect_max: backoff ceiling in seconds.
        connect_timeout: bound on the TCP probe and on the start-up RPCs.
        send_timeout: bound on one send; on expiry the message counts as not sent.
        heartbeat_interval: seconds between `ding` liveness checks (0 disables them).
        payload_ttl: seconds after which cached contact/room names are re-fetched.
    """

    name = "wechaty"

    def __init__(
        self,
        endpoint: str = "",
        token: str = "",
        *,
        bot_name: str = "",
        reconnect_initial: float = 1.0,
        reconnect_max: float = 30.0,
        connect_timeout: float = 5.0,
        send_timeout: float = 10.0,
        heartbeat_interval: float = 15.0,
        payload_ttl: float = 600.0,
    ) -> None:
        self.endpoint = endpoint or os.environ.get(ENDPOINT_ENV, "")
        self.token = token or os.environ.get(TOKEN_ENV, "")
        if not self.endpoint or not self.token:
            raise ValueError(
                f"wechaty transport needs a puppet service endpoint and token (arguments or ${ENDPOINT_ENV} "
                f"and ${TOKEN_ENV})"
            )
        self._host, self._port = _split_endpoint(self.endpoint)
        self.bot_name = bot_name
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self.heartbeat_interval = heartbeat_interval
        self.payload_ttl = payload_ttl
        self._sdk = _load_sdk()  # fails loudly here if the `wechaty` extra is missing
        self._sink: EventSink | None = None
        self._conn: _Connection | None = None
        self._stopping = asyncio.Event()
        self._finished = asyncio.Event()
        self._finished.set()
        self._reconnecting = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def connected(self) -> bool:
        """True while a connection is up and the account is logged in (sends can go out)."""
        return self._conn is not None and self._conn.logged_in

    async def start(self, sink: EventSink) -> None:
        """Connect and deliver events to `sink` until `stop()`; reconnects with backoff."""
        self._sink = sink
        self._stopping.clear()
        self._finished.clear()
        try:
            await self._run_forever()
        finally:
            self._finished.set()
        logger.info("wechaty: transport stopped")

    async def stop(self) -> None:
        """Make `start()` finish (closing the connection) and wait for it, bounded."""
        self._stopping.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._finished.wait(), timeout=self.connect_timeout + 5)

    async def _run_forever(self) -> None:
        delay = self.reconnect_initial
        failures = 0
        while not self._stopping.is_set():
            was_up = False
            try:
                was_up = await self._run_connection()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if failures == 1 and not self._reconnecting:
                    await self._status("error", f"cannot connect to puppet service {self.endpoint}: {exc!r}")
                logger.warning(
                    "wechaty: connection to {} failed ({!r}); retry in {:.1f}s", self.endpoint, exc, delay
                )
            if self._stopping.is_set():
                break
            if was_up:
                failures = 0
                delay = self.reconnect_initial
                self._reconnecting = True
                await self._status("disconnected", f"lost puppet service {self.endpoint}; reconnecting")
                logger.warning("wechaty: disconnected from {}; reconnecting in {:.1f}s", self.endpoint, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            delay = min(delay * 2, self.reconnect_max)

    # ------------------------------------------------------------------ one connection

    async def _probe(self) -> None:
        """Async TCP check, so the SDK's own blocking 3 s telnet ping never waits on a dead host."""
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(self._host, self._port), timeout=self.connect_timeout
        )
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    def _new_wechaty(self) -> _Connection:
        sdk = self._sdk
        # A scheduler with the in-memory job store: the default one is SQLAlchemy on CACHE_DIR/job.db.
        # It is never started because the plugin manager never starts (WORKAROUND 4).
        scheduler = sdk.AsyncIOScheduler()
        options = sdk.WechatyOptions(
            endpoint=self.endpoint,  # WORKAROUND 8: plaintext gRPC to host:port, token as :authority
            token=self.token,
            # WORKAROUND 11: `WechatyOptions.puppet_options` defaults to ONE shared PuppetOptions
            # instance (the mutable default the 3.11 shim lets through), and the SDK writes the
            # endpoint into it only if it is empty: a second transport in the same process would
            # silently talk to the first one's service. Give every connection its own.
            puppet_options=sdk.PuppetOptions(token=self.token, end_point=self.endpoint),
            host="127.0.0.1",
            port=_free_local_port(),  # WORKAROUND 4
            scheduler=scheduler,
        )
        return _Connection(sdk.Wechaty(options), scheduler)

    async def _run_connection(self) -> bool:
        """Run one connection until it ends; returns whether it ever got logged in."""
        await self._probe()
        conn = self._new_wechaty()
        wechaty = conn.wechaty
        # WORKAROUND 3: the pieces of `Wechaty.start()` without its 60 s sleep / loop.stop().
        await wechaty.init_puppet()
        # WORKAROUND 6: fresh object pools for this connection's puppet.
        for cls in (wechaty.Contact, wechaty.ContactSelf, wechaty.Room, wechaty.Tag):
            cls._pool = {}

        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        puppet = wechaty.puppet
        for event_name in _PUPPET_EVENTS:
            # WORKAROUND 5: plain (non-async) listeners run inside emit(), i.e. in stream order.
            puppet.on(event_name, self._enqueue(queue, event_name))

        self._conn = conn
        tasks: list[asyncio.Task[Any]] = []
        try:
            listen = asyncio.create_task(puppet.start(), name="wechaty-listen")
            worker = asyncio.create_task(self._work(conn, queue), name="wechaty-events")
            stop_wait = asyncio.create_task(self._stopping.wait(), name="wechaty-stop-wait")
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
            self._conn = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._close(conn, graceful=self._stopping.is_set())

    async def _close(self, conn: _Connection, *, graceful: bool) -> None:
        puppet = conn.puppet
        if graceful:
            # Like the SDK's stop(): tells the service to stop the puppet, then closes the channel.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(puppet.stop(), timeout=self.connect_timeout)
        with contextlib.suppress(Exception):
            puppet._event_stream.remove_all_listeners()
        channel = getattr(puppet, "channel", None)
        if channel is not None:
            with contextlib.suppress(Exception):
                channel.close()
        with contextlib.suppress(Exception):
            if conn.scheduler.running:
                conn.scheduler.shutdown(wait=False)

    async def _heartbeat(self, conn: _Connection) -> None:
        """WORKAROUND 9: a hung TCP connection never ends the event stream by itself."""
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await asyncio.wait_for(conn.puppet.ding("tuanbot"), timeout=self.connect_timeout)
            except Exception as exc:
                raise _Disconnected(f"heartbeat failed: {exc!r}") from exc

    @staticmethod
    def _enqueue(queue: asyncio.Queue[tuple[str, Any]], event_name: str) -> Callable[..., None]:
        def listener(payload: Any = None, *_: Any) -> None:
            queue.put_nowait((event_name, payload))

        return listener

    async def _work(self, conn: _Connection, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        while True:
            event_name, payload = await queue.get()
            try:
                events = await self._convert(conn, event_name, payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("wechaty: could not convert {} event {!r}", event_name, payload)
                continue
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
            TransportStatus(kind=kind, time=_now(), detail=detail, group_id=group_id, account_id=account_id)
        )

    # ------------------------------------------------------------------ conversion

    async def _convert(self, conn: _Connection, event_name: str, payload: Any) -> list[Event]:
        if event_name == "message":
            event = await self._convert_message(conn, payload.message_id)
            return [event] if event is not None else []
        if event_name == "login":
            return await self._on_login(conn, payload.contact_id)
        if event_name == "logout":
            conn.logged_in = False
            logger.warning("wechaty: account {} logged out ({})", payload.contact_id, payload.data)
            return [
                TransportStatus(
                    "logout", _now(), detail=str(payload.data or ""), account_id=payload.contact_id
                )
            ]
        if event_name == "room-join":
            return await self._convert_join(conn, payload)
        if event_name == "room-leave":
            return await self._convert_leave(conn, payload)
        if event_name == "room-topic":
            room = await self._room(conn, payload.room_id, refresh=True)
            return [
                GroupRenamed(
                    group_id=payload.room_id,
                    new_name=payload.new_topic or (room.payload.topic if room else ""),
                    old_name=payload.old_topic or "",
                    time=_to_datetime(payload.timestamp),
                )
            ]
        if event_name == "scan":
            url = f"https://wechaty.js.org/qrcode/{payload.qrcode}" if payload.qrcode else ""
            status = getattr(payload.status, "name", str(payload.status))
            logger.warning("wechaty: login needed, scan status {} {}", status, url)
            return [TransportStatus("scan", _now(), detail=f"{status} {url}".strip())]
        if event_name == "error":
            detail = str(getattr(payload, "data", payload) or "")
            if not detail:  # the service sends empty error events now and then
                return []
            logger.error("wechaty: puppet error: {}", detail)
            return [TransportStatus("error", _now(), detail=detail)]
        return []

    async def _on_login(self, conn: _Connection, contact_id: str) -> list[Event]:
        conn.self_id = contact_id
        me = await self._contact(conn, contact_id)
        conn.self_name = me.name if me is not None else ""
        conn.logged_in = True
        kind = "reconnected" if self._reconnecting else "login"
        self._reconnecting = False
        logger.info("wechaty: {} as {} ({})", kind, conn.self_name, contact_id)
        return [TransportStatus(kind, _now(), detail=conn.self_name, account_id=contact_id)]

    async def _fresh(self, conn: _Connection, kind: str, obj: Any, obj_id: str, refresh: bool) -> Any:
        """Load `obj`'s payload, re-fetching it when asked or when older than `payload_ttl`."""
        key = (kind, obj_id)
        loaded = conn.loaded_at.get(key)
        if refresh or loaded is None or time.monotonic() - loaded > self.payload_ttl:
            obj._payload = None  # `ready(force_sync=True)` does not re-fetch a loaded Room (WORKAROUND 6)
        if obj._payload is None:
            await obj.ready()
            conn.loaded_at[key] = time.monotonic()
        return obj

    async def _contact(self, conn: _Connection, contact_id: str) -> Any:
        if not contact_id:
            return None
        return await self._fresh(conn, "contact", conn.wechaty.Contact.load(contact_id), contact_id, False)

    async def _room(self, conn: _Connection, room_id: str, *, refresh: bool = False) -> Any:
        if not room_id:
            return None
        return await self._fresh(conn, "room", conn.wechaty.Room.load(room_id), room_id, refresh)

    async def _member(self, conn: _Connection, contact_id: str) -> Member:
        try:
            contact = await self._contact(conn, contact_id)
            name = contact.name if contact is not None else ""
        except Exception as exc:  # a stranger whose payload the service cannot give
            logger.debug("wechaty: no payload for contact {}: {!r}", contact_id, exc)
            name = ""
        return Member(id=contact_id, name=name or "")

    @staticmethod
    def _topic(room: Any) -> str:
        payload = getattr(room, "_payload", None)
        return (getattr(payload, "topic", "") or "") if payload is not None else ""

    async def _convert_message(self, conn: _Connection, message_id: str) -> Event | None:
        # Message payloads are fetched directly: `Message.ready()` would also load every
        # talker/room/listener without our refresh rules.
        payload = await conn.puppet.message_payload(message_id)
        talker_id = getattr(payload, "from_id", "") or ""
        if not talker_id or talker_id == conn.self_id:
            return None  # the bot's own messages come back as events: never deliver them
        if payload.type != self._sdk.MessageType.MESSAGE_TYPE_TEXT:
            logger.debug("wechaty: ignoring {} message {}", payload.type, message_id)
            return None
        text = payload.text or ""
        sender = await self._member(conn, talker_id)
        when = _to_datetime(payload.timestamp)
        room_id = payload.room_id or ""
        if not room_id:
            return PrivateMessage(message_id=message_id, sender=sender, text=text, time=when)
        room = await self._room(conn, room_id)
        mentions = tuple(payload.mention_ids or ())
        bot_name = self.bot_name or conn.self_name
        mentions_bot = conn.self_id in mentions or bool(bot_name and f"@{bot_name}" in text)
        return GroupMessage(
            message_id=message_id,
            group_id=room_id,
            sender=sender,
            text=text,
            time=when,
            mentions=mentions,
            group_name=self._topic(room),
            mentions_bot=mentions_bot,
        )

    async def _convert_join(self, conn: _Connection, payload: Any) -> list[Event]:
        room = await self._room(conn, payload.room_id, refresh=True)  # member list changed
        members = tuple([await self._member(conn, cid) for cid in payload.invited_ids or ()])
        inviter = await self._member(conn, payload.inviter_id) if payload.inviter_id else None
        ids = ",".join(m.id for m in members)
        return [
            MemberJoined(
                group_id=payload.room_id,
                members=members,
                time=_to_datetime(payload.timestamp),
                inviter=inviter,
                group_name=self._topic(room),
                event_id=f"room-join:{payload.room_id}:{payload.timestamp}:{ids}",
            )
        ]

    async def _convert_leave(self, conn: _Connection, payload: Any) -> list[Event]:
        removed = list(payload.removed_ids or ())
        events: list[Event] = []
        try:
            room = await self._room(conn, payload.room_id, refresh=True)
        except Exception:  # the bot itself may have been removed: no payload any more
            room = None
        topic = self._topic(room)
        others = [cid for cid in removed if cid != conn.self_id]
        if others:
            members = tuple([await self._member(conn, cid) for cid in others])
            events.append(
                MemberLeft(
                    group_id=payload.room_id,
                    members=members,
                    time=_to_datetime(payload.timestamp),
                    group_name=topic,
                    event_id=f"room-leave:{payload.room_id}:{payload.timestamp}:{','.join(others)}",
                )
            )
        if conn.self_id and conn.self_id in removed:
            logger.warning("wechaty: the bot was removed from group {} ({})", payload.room_id, topic)
            events.append(
                TransportStatus(
                    "removed_from_group",
                    _to_datetime(payload.timestamp),
                    detail=topic,
                    group_id=payload.room_id,
                    account_id=conn.self_id,
                )
            )
        return events

    # ------------------------------------------------------------------ sending

    async def send(self, message: Outgoing) -> None:
        """Send one text; raises `SendError` (retryable while disconnected or on network errors)."""
        conversation_id = message.group_id or message.member_id
        if not conversation_id or (message.group_id and message.member_id):
            raise SendError("Outgoing needs exactly one of group_id / member_id", retryable=False)
        conn = self._conn
        if conn is None or not conn.logged_in:
            raise SendError("wechaty: not connected to the puppet service", retryable=True)
        try:
            text = message.text
            mention_ids = list(message.mentions) if message.group_id else []
            if mention_ids:
                text = await self._with_mentions(conn, text, mention_ids)
            # WORKAROUND 7: not Room.say()/Contact.say(), see the module docstring.
            await asyncio.wait_for(
                conn.puppet.message_send_text(conversation_id, text, mention_ids or None),
                timeout=self.send_timeout,
            )
        except SendError:
            raise
        except TimeoutError as exc:
            raise SendError(f"wechaty: send timed out after {self.send_timeout}s", retryable=True) from exc
        except Exception as exc:
            raise self._send_error(exc) from exc

    async def _with_mentions(self, conn: _Connection, text: str, mention_ids: list[str]) -> str:
        """Prefix "@name " for each mentioned member, as WeChat shows mentions in the text itself."""
        prefixes = []
        for contact_id in mention_ids:
            member = await self._member(conn, contact_id)
            if member.name and f"@{member.name}" not in text:
                prefixes.append(f"@{member.name}")
        return f"{AT_SEPARATOR.join(prefixes)} {text}" if prefixes else text

    @staticmethod
    def _send_error(exc: Exception) -> SendError:
        detail = f"wechaty: send failed: {exc!r}"
        lowered = str(exc).lower()
        if "频繁" in str(exc) or "too frequent" in lowered or "rate limit" in lowered:
            return SendError(detail, rate_limited=True, retryable=True)
        if isinstance(exc, OSError) or type(exc).__name__ == "StreamTerminatedError":
            return SendError(detail, retryable=True)
        status = getattr(getattr(exc, "status", None), "name", "")
        if status in {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "CANCELLED"}:
            return SendError(detail, rate_limited=status == "RESOURCE_EXHAUSTED", retryable=True)
        if "not logged in" in lowered or "not login" in lowered:
            return SendError(detail, retryable=True)
        return SendError(detail, retryable=False)
