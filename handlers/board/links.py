"""Signed, expiring board access: a leader's `/board` link and an admin's token login.

Access is by id, never open. A link carries who asked and which groups they led when they
asked, signed with the board's secret (itsdangerous) and stamped with wall-clock time, so it
stops working after `web.link_minutes` and cannot be edited to reach another leader's groups.
The same signed value becomes the session cookie when the link is opened, so the cookie
expires with the link. Admins type `web.admin_token` once; the board answers with its own
signed session (the token itself is never stored in the browser).

Without `web.secret` (or `TUANBOT_WEB_SECRET`) a secret is made once and kept in
`data/board-secret` beside the database, readable by this user only (0600), so links sent
before a restart keep working after it, and `tuanbot web` over the same folder accepts them.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from loguru import logger

from bot.config import Config

SECRET_FILE = "board-secret"
LINK_SALT = "tuanbot-board-link"
ADMIN_SALT = "tuanbot-board-admin"
ADMIN_SESSION_MINUTES = 12 * 60
ALL_GROUPS = "*"

Refusal = Literal["expired", "invalid", "missing"]


@dataclass(frozen=True)
class Grant:
    """What a verified link or session says: who, which groups they led when it was issued, admin."""

    member_id: str
    groups: tuple[str, ...] | None  # None: every group (an admin's link, an admin session)
    admin_session: bool  # logged in with the admin token: may open the admin page
    expires_at: float  # wall-clock seconds


@dataclass(frozen=True)
class Denied:
    """Why a request gets 403: the link ran out, was altered, or there is none."""

    reason: Refusal


def secret_path(config: Config) -> Path:
    """Where a made secret is kept: the config's data folder (beside the default database)."""
    return config.path("data") / SECRET_FILE


def board_secret(config: Config) -> str:
    """The configured secret, else the kept one, else a new one written once with mode 0600."""
    if config.web.secret:
        return config.web.secret
    path = secret_path(config)
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    made = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(made)
    logger.bind(path=str(path)).info("board: made a link-signing secret and kept it in {}", path)
    return made


def _signer(wall: Callable[[], float]) -> type[TimestampSigner]:
    """A timestamp signer reading `wall` (tests mint links in the past with it)."""

    class WallSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(wall())

    return WallSigner


class Links:
    """Mints and checks links and admin sessions with one secret."""

    def __init__(
        self, secret: str, *, link_minutes: int, admin_token: str, wall: Callable[[], float] = time.time
    ) -> None:
        self.link_seconds = link_minutes * 60
        self.admin_token = admin_token
        self.wall = wall
        signer = _signer(wall)
        self._links = URLSafeTimedSerializer(secret, salt=LINK_SALT, signer=signer)
        self._admin = URLSafeTimedSerializer(secret, salt=ADMIN_SALT, signer=signer)

    @classmethod
    def from_config(cls, config: Config) -> Links:
        return cls(
            board_secret(config), link_minutes=config.web.link_minutes, admin_token=config.web.admin_token
        )

    # -- leaders' links ------------------------------------------------------------------------
    def mint(self, member_id: str, groups: list[str] | None) -> str:
        """A link token for `member_id` over `groups` (None: every group, for an admin)."""
        payload: dict[str, Any] = {"m": member_id, "g": ALL_GROUPS if groups is None else sorted(groups)}
        return str(self._links.dumps(payload))

    def check_link(self, token: str) -> Grant | Denied:
        return self._check(self._links, token, self.link_seconds, admin_session=False)

    # -- admins' sessions -------------------------------------------------------------------------
    def admin_token_ok(self, typed: str) -> bool:
        """Whether `typed` is the configured admin token (never true while none is configured)."""
        return bool(self.admin_token) and hmac.compare_digest(typed.encode(), self.admin_token.encode())

    def admin_session(self) -> str:
        return str(self._admin.dumps({"m": "", "g": ALL_GROUPS}))

    def check_admin(self, token: str) -> Grant | Denied:
        if not self.admin_token:  # the token was removed from the config: old sessions end with it
            return Denied("invalid")
        return self._check(self._admin, token, ADMIN_SESSION_MINUTES * 60, admin_session=True)

    # -- both ----------------------------------------------------------------------------------------
    def _check(
        self, serializer: URLSafeTimedSerializer, token: str, max_age: int, *, admin_session: bool
    ) -> Grant | Denied:
        if not token:
            return Denied("missing")
        try:
            payload, signed_at = serializer.loads(token, max_age=max_age, return_timestamp=True)
        except SignatureExpired:
            return Denied("expired")
        except BadSignature:
            return Denied("invalid")
        if not isinstance(payload, dict) or not isinstance(payload.get("m"), str):
            return Denied("invalid")
        claimed = payload.get("g")
        groups = None if claimed == ALL_GROUPS else tuple(str(g) for g in claimed or ())
        return Grant(payload["m"], groups, admin_session, signed_at.timestamp() + max_age)

    def seconds_left(self, grant: Grant) -> int:
        return max(0, int(grant.expires_at - self.wall()))


__all__ = ["ALL_GROUPS", "Denied", "Grant", "Links", "board_secret", "secret_path"]
