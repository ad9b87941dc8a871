"""One live connection to a Wechaty puppet service, and the payload cache bound to it.

Why a module of its own: the conversion of events (`wechaty_events`), the send path
(`wechaty_send`) and the reconnect supervision (`wechaty_supervisor`) all work on the same
connection state (the puppet, the login, the cached contact and room payloads). Keeping that
state here lets each of them stay one job. It never imports `wechaty`: the SDK's classes come in
as a `WechatySdk` built by `bot.transports.wechaty_adapter`, the only module that imports it.
Workaround numbers refer to the list in `bot.transports.wechaty_adapter`'s docstring.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass
from typing import Any

from loguru import logger

from bot.events import Member


@dataclass(frozen=True, slots=True)
class WechatySdk:
    """The pieces of the SDK the adapter uses (imported lazily by the adapter's `_load_sdk`)."""

    Wechaty: Any
    WechatyOptions: Any
    MessageType: Any
    ScanStatus: Any
    AsyncIOScheduler: Any
    PuppetOptions: Any
    FileBox: Any = None  # `FileBox.from_file(path)` builds what a picture is sent as


class Disconnected(Exception):
    """The puppet service connection ended or failed its heartbeat."""


def free_local_port() -> int:
    """A local TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """`host:port` (an optional http:// prefix is tolerated) -> (host, port)."""
    rest = endpoint.split("://", 1)[-1].rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"wechaty endpoint must be host:port, got {endpoint!r}")
    return host.strip("[]"), int(port)


async def probe(host: str, port: int, timeout: float) -> None:
    """Async TCP check, so the SDK's own blocking 3 s telnet ping never waits on a dead host."""
    _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=timeout)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


class Connection:
    """One live connection: a `Wechaty` instance, its puppet, login state and payload cache.

    Contacts and rooms are loaded through `contact`/`room`, which re-fetch a payload when asked
    or when it is older than `payload_ttl` seconds (WORKAROUND 6: the SDK never re-fetches).
    """

    def __init__(self, wechaty: Any, scheduler: Any, *, payload_ttl: float = 600.0) -> None:
        self.wechaty = wechaty
        self.scheduler = scheduler
        self.payload_ttl = payload_ttl
        self.logged_in = False
        self.self_id = ""
        self.self_name = ""
        self.loaded_at: dict[tuple[str, str], float] = {}

    @classmethod
    def open(cls, sdk: WechatySdk, endpoint: str, token: str, *, payload_ttl: float) -> Connection:
        """Build the SDK objects for one connection (nothing is sent on the wire yet)."""
        # A scheduler with the in-memory job store: the default one is SQLAlchemy on CACHE_DIR/job.db.
        # It is never started because the plugin manager never starts (WORKAROUND 4).
        scheduler = sdk.AsyncIOScheduler()
        options = sdk.WechatyOptions(
            endpoint=endpoint,  # WORKAROUND 8: plaintext gRPC to host:port, token as :authority
            token=token,
            # WORKAROUND 11: `WechatyOptions.puppet_options` defaults to ONE shared PuppetOptions
            # instance (the mutable default the 3.11 shim lets through), and the SDK writes the
            # endpoint into it only if it is empty: a second transport in the same process would
            # silently talk to the first one's service. Give every connection its own.
            puppet_options=sdk.PuppetOptions(token=token, end_point=endpoint),
            host="127.0.0.1",
            port=free_local_port(),  # WORKAROUND 4
            scheduler=scheduler,
        )
        return cls(sdk.Wechaty(options), scheduler, payload_ttl=payload_ttl)

    @property
    def puppet(self) -> Any:
        return self.wechaty.puppet

    async def init_puppet(self) -> None:
        """WORKAROUND 3 and 6: the pieces of `Wechaty.start()` we need, with fresh object pools."""
        wechaty = self.wechaty
        await wechaty.init_puppet()
        for cls in (wechaty.Contact, wechaty.ContactSelf, wechaty.Room, wechaty.Tag):
            cls._pool = {}

    async def close(self, *, graceful: bool, timeout: float) -> None:
        """Stop listening and close the channel; `graceful` also tells the service to stop the puppet."""
        puppet = self.puppet
        if graceful:
            # Like the SDK's stop(): tells the service to stop the puppet, then closes the channel.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(puppet.stop(), timeout=timeout)
        with contextlib.suppress(Exception):
            puppet._event_stream.remove_all_listeners()
        channel = getattr(puppet, "channel", None)
        if channel is not None:
            with contextlib.suppress(Exception):
                channel.close()
        with contextlib.suppress(Exception):
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)

    # ------------------------------------------------------------------ payload cache

    async def _fresh(self, kind: str, obj: Any, obj_id: str, refresh: bool) -> Any:
        """Load `obj`'s payload, re-fetching it when asked or when older than `payload_ttl`."""
        key = (kind, obj_id)
        loaded = self.loaded_at.get(key)
        if refresh or loaded is None or time.monotonic() - loaded > self.payload_ttl:
            obj._payload = None  # `ready(force_sync=True)` does not re-fetch a loaded Room (WORKAROUND 6)
        if obj._payload is None:
            await obj.ready()
            self.loaded_at[key] = time.monotonic()
        return obj

    async def contact(self, contact_id: str) -> Any:
        if not contact_id:
            return None
        return await self._fresh("contact", self.wechaty.Contact.load(contact_id), contact_id, False)

    async def room(self, room_id: str, *, refresh: bool = False) -> Any:
        if not room_id:
            return None
        return await self._fresh("room", self.wechaty.Room.load(room_id), room_id, refresh)

    async def member(self, contact_id: str) -> Member:
        """Our `Member` for a contact id; a contact without a payload gets an empty name."""
        try:
            contact = await self.contact(contact_id)
            name = contact.name if contact is not None else ""
        except Exception as exc:  # a stranger whose payload the service cannot give
            logger.debug("wechaty: no payload for contact {}: {!r}", contact_id, exc)
            name = ""
        return Member(id=contact_id, name=name or "")

    @staticmethod
    def topic(room: Any) -> str:
        payload = getattr(room, "_payload", None)
        return (getattr(payload, "topic", "") or "") if payload is not None else ""
