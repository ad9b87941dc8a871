"""WeChat through Wechaty: the only module in tuanbot that imports `wechaty`.

`WechatyTransport` connects to a Wechaty *puppet service* (gRPC) with PyPI's
`wechaty` 0.10.7 + `wechaty-puppet-service` 0.8.10, turns what arrives into our
own events (`bot.events`) and sends `Outgoing` messages. It knows nothing about
group-buying. This module loads the SDK and composes the parts, each in its own
module that never imports `wechaty`: `wechaty_connection` (one connection and its
payload cache), `wechaty_events` (puppet events -> our events), `wechaty_send`
(the send path and its error classification) and `wechaty_supervisor` (connect,
ordered event pump, heartbeat, reconnect with backoff).

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
11. `FileBox.from_file` sets the deprecated `mimeType`, which logs a WARNING
   ("mimeType will be deprecated") on every picture sent: the `FileBox` logger is
   raised to ERROR. Pictures go out as `puppet.message_send_file(id, FileBox)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from types import ModuleType
from typing import Any

from loguru import logger

from bot.events import Outgoing
from bot.transports.base import EventSink
from bot.transports.wechaty_connection import WechatySdk, split_endpoint
from bot.transports.wechaty_events import EventConverter
from bot.transports.wechaty_send import remove_from_room, send_image, send_text
from bot.transports.wechaty_supervisor import ConnectionSupervisor

ENDPOINT_ENV = "WECHATY_PUPPET_SERVICE_ENDPOINT"
TOKEN_ENV = "WECHATY_PUPPET_SERVICE_TOKEN"

_sdk: WechatySdk | None = None


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


def _load_sdk() -> WechatySdk:
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

    # The SDK's own AsyncIOScheduler (APScheduler's, as `wechaty.plugin` imports it): taken from
    # the SDK so that only the jobs facade imports APScheduler itself.
    from wechaty.plugin import AsyncIOScheduler
    from wechaty_puppet import FileBox, MessageType, ScanStatus

    # WORKAROUND 10: PuppetService logs the token in clear text at WARNING whenever both an endpoint
    # and a token are given (always, for us): keep that logger to errors.
    logging.getLogger("PuppetService").setLevel(logging.ERROR)
    logging.getLogger("FileBox").setLevel(logging.ERROR)  # WORKAROUND 11

    _sdk = WechatySdk(
        Wechaty=wechaty.Wechaty,
        WechatyOptions=wechaty.WechatyOptions,
        MessageType=MessageType,
        ScanStatus=ScanStatus,
        AsyncIOScheduler=AsyncIOScheduler,
        PuppetOptions=puppet_schema.PuppetOptions,
        FileBox=FileBox,
    )
    return _sdk


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
        split_endpoint(self.endpoint)  # a malformed endpoint fails here, before the SDK loads
        self.bot_name = bot_name
        self.send_timeout = send_timeout
        sdk = self._sdk = _load_sdk()  # fails loudly here if the `wechaty` extra is missing
        self._supervisor = ConnectionSupervisor(
            sdk,
            self.endpoint,
            self.token,
            EventConverter(sdk.MessageType.MESSAGE_TYPE_TEXT, bot_name, kinds=message_kinds(sdk.MessageType)),
            reconnect_initial=reconnect_initial,
            reconnect_max=reconnect_max,
            connect_timeout=connect_timeout,
            heartbeat_interval=heartbeat_interval,
            payload_ttl=payload_ttl,
        )
        self._finished = asyncio.Event()
        self._finished.set()

    @property
    def connected(self) -> bool:
        """True while a connection is up and the account is logged in (sends can go out)."""
        conn = self._supervisor.conn
        return conn is not None and conn.logged_in

    async def start(self, sink: EventSink) -> None:
        """Connect and deliver events to `sink` until `stop()`; reconnects with backoff."""
        self._supervisor.stopping.clear()
        self._finished.clear()
        try:
            await self._supervisor.run(sink)
        finally:
            self._finished.set()
        logger.info("wechaty: transport stopped")

    async def stop(self) -> None:
        """Make `start()` finish (closing the connection) and wait for it, bounded."""
        self._supervisor.stopping.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._finished.wait(), timeout=self._supervisor.connect_timeout + 5)

    async def send(self, message: Outgoing) -> None:
        """Send one text or picture; raises `SendError` (retryable while disconnected, on network errors)."""
        if message.is_image:
            from_file = self._sdk.FileBox.from_file
            await send_image(self._supervisor.conn, message, from_file, timeout=self.send_timeout)
            return
        await send_text(self._supervisor.conn, message, timeout=self.send_timeout)

    async def remove_member(self, group_id: str, member_id: str) -> bool:
        """Remove a member from a room (`Room.delete`); False when WeChat refuses (the bot is not owner)."""
        return await remove_from_room(self._supervisor.conn, group_id, member_id, timeout=self.send_timeout)


def message_kinds(message_type: Any) -> dict[Any, str]:
    """The SDK's message types the bot reads besides text, as `GroupMessage.kind` names them."""
    return {
        message_type.MESSAGE_TYPE_URL: "link",
        message_type.MESSAGE_TYPE_MINI_PROGRAM: "mini_program",
        message_type.MESSAGE_TYPE_CONTACT: "contact_card",
        message_type.MESSAGE_TYPE_IMAGE: "image",
    }
