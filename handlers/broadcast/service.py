"""`Broadcasts`: the feature's per-app runtime: create, deliver once, cancel, and the codes in memory.

Why deliver is shaped as it is: a broadcast due later must go out once, whatever runs twice (a
job replayed after a crash, a restart between the job and its commit). Delivery first moves the
row pending -> sent with a conditional update, and writes every group's post into the outbox in
that same transaction (`Outbox.enqueue_in`); the loser of a race, or a rerun, updates no row
and writes nothing. The posts enter the send queue once the transaction has committed (the
returned `admit`, called on the event loop); the outbox spreads them within its limits.

Tracking codes live in memory (group -> code -> broadcast id), read once at start and kept as
broadcasts are created or cancelled, so the reply matcher runs no query on the event loop.
Everything else here reads or writes the database: call it in a worker thread.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.context import Services
from bot.group_filter import CODE_ALPHABET
from bot.outbox import Draft
from bot.vocab import Priority
from handlers.broadcast.tables import BROADCASTS, CANCELLED, GROUPS, PENDING, REPLIES, SENT

CODE_LENGTH = 5
"""Five characters: the group filter masks any standalone four-character letter-and-digit token
as a pickup code (`bot.group_filter`), so a four-character code would reach the group as ****."""
POST_KIND = "chat_broadcast"  # not "broadcast": the order guard reads that kind as a campaign's sale post


@dataclass(frozen=True)
class Salutation:
    """What one group's post says to it; empty fields fall back to neutral words in the template."""

    group_name: str
    leader_name: str
    members: int


@dataclass(frozen=True)
class Row:
    id: int
    author_id: str
    text: str
    target: str
    due_at: datetime
    status: str
    groups: tuple[tuple[str, str], ...] = ()  # (group id, code)
    replies: dict[str, int] = field(default_factory=dict)  # group id -> distinct members


def broadcasts_of(services: Services) -> Broadcasts:
    return services.get_or_make(Broadcasts, lambda: Broadcasts(services))


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class Broadcasts:
    """See the module docstring."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.engine = services.repo.engine
        self._codes: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        self.loaded = False

    # -- memory (read by the matcher on the loop) --------------------------------------------
    def load_codes(self) -> None:
        """Codes of every broadcast not cancelled: replies count long after the post went out."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(GROUPS.c.group_id, GROUPS.c.code, GROUPS.c.broadcast_id)
                .join(BROADCASTS, BROADCASTS.c.id == GROUPS.c.broadcast_id)
                .where(BROADCASTS.c.status != CANCELLED)
            ).all()
        with self._lock:
            for group_id, code, broadcast_id in rows:
                self._codes.setdefault(group_id, {})[code] = int(broadcast_id)
        self.loaded = True

    def code_in(self, group_id: str, words: list[str]) -> tuple[str, int] | None:
        """The first of `words` that is a code of this group, and its broadcast (memory only)."""
        known = self._codes.get(group_id)
        if not known:
            return None
        for word in words:
            found = known.get(word)
            if found is not None:
                return word, found
        return None

    def _remember(self, broadcast_id: int, codes: dict[str, str]) -> None:
        with self._lock:
            for group_id, code in codes.items():
                self._codes.setdefault(group_id, {})[code] = broadcast_id

    def _forget(self, broadcast_id: int) -> None:
        with self._lock:
            for known in self._codes.values():
                for code in [c for c, b in known.items() if b == broadcast_id]:
                    del known[code]

    # -- writes ----------------------------------------------------------------------------
    def create(
        self, author_id: str, text: str, target: str, group_ids: list[str], due_at: datetime, now: datetime
    ) -> tuple[int, dict[str, str]]:
        """Store a pending broadcast and a fresh code per group; its id and the codes."""
        for _ in range(5):
            codes = {g: new_code() for g in group_ids}
            if len(set(codes.values())) < len(codes):
                continue
            try:
                with self.engine.begin() as conn:
                    inserted = conn.execute(
                        insert(BROADCASTS).values(
                            author_id=author_id,
                            text=text,
                            target=target,
                            due_at=due_at,
                            status=PENDING,
                            created_at=now,
                        )
                    ).inserted_primary_key
                    assert inserted is not None
                    broadcast_id = int(inserted[0])
                    conn.execute(
                        insert(GROUPS),
                        [{"broadcast_id": broadcast_id, "group_id": g, "code": c} for g, c in codes.items()],
                    )
            except IntegrityError:
                continue  # a code already taken (rare): draw again
            self._remember(broadcast_id, codes)
            return broadcast_id, codes
        raise RuntimeError("could not draw unique broadcast codes")

    def cancel(self, broadcast_id: int, by: str, may_cancel_others: bool) -> str:
        """'cancelled', 'not_found', 'not_yours' or the state it is in ('sent', 'cancelled')."""
        row = self.row(broadcast_id)
        if row is None:
            return "not_found"
        if row.author_id != by and not may_cancel_others:
            return "not_yours"
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(BROADCASTS)
                .where(BROADCASTS.c.id == broadcast_id, BROADCASTS.c.status == PENDING)
                .values(status=CANCELLED, cancelled_by=by)
            ).rowcount
        if moved != 1:
            return f"already_{self.row(broadcast_id).status}"  # type: ignore[union-attr]
        self._forget(broadcast_id)
        return CANCELLED

    def deliver(self, broadcast_id: int, now: datetime) -> tuple[int, Callable[[], None]]:
        """Mark the broadcast sent and write its posts in one transaction: (posts, admit).

        0 posts when it is not pending (sent already, cancelled, unknown): a rerun sends nothing.
        Call `admit` on the event loop once this returned.
        """
        row = self.row(broadcast_id)
        if row is None or row.status != PENDING:
            return 0, lambda: None
        drafts = [
            Draft(
                text=self.render_post(row.text, group_id, code),
                group_id=group_id,
                priority=Priority.DEFAULT,
                kind=POST_KIND,
            )
            for group_id, code in row.groups
        ]
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(BROADCASTS)
                .where(BROADCASTS.c.id == broadcast_id, BROADCASTS.c.status == PENDING)
                .values(status=SENT, sent_at=now)
            ).rowcount
            if moved != 1:
                return 0, lambda: None
            _, admit = self.services.outbox.enqueue_in(conn, drafts)
        logger.bind(broadcast=broadcast_id).info("broadcast: {} posts queued", len(drafts))
        return len(drafts), admit

    # -- reads ------------------------------------------------------------------------------
    def salutation(self, group_id: str) -> Salutation:
        """The group's name, its first leader's name and its member count; blanks when unknown."""
        services = self.services
        configured = services.config.groups.get(group_id)
        name = services.repo.group_name(group_id)
        if name == group_id:  # the repo knows no name: the config's, else none (an id is no greeting)
            name = configured.name if configured is not None else ""
        leaders = sorted(services.roles.leaders_of(group_id))
        leader_name = ""
        if leaders:
            found = services.repo.member_name(leaders[0])
            leader_name = "" if found == leaders[0] else found  # an id is not a name to greet with
        return Salutation(name, leader_name, services.repo.member_count(group_id))

    def render_post(self, text: str, group_id: str, code: str) -> str:
        s = self.salutation(group_id)
        return self.services.renderer.render(
            "broadcast/post.j2",
            bot_name=self.services.config.bot.name,
            text=text,
            code=code,
            group_name=s.group_name,
            leader_name=s.leader_name,
            members=s.members,
        )

    def row(self, broadcast_id: int) -> Row | None:
        found = self.rows(ids=[broadcast_id])
        return found[0] if found else None

    def rows(
        self, *, ids: list[int] | None = None, author_id: str | None = None, limit: int = 20
    ) -> list[Row]:
        """Broadcasts newest first, with their groups, codes and replies per group."""
        query = select(BROADCASTS).order_by(BROADCASTS.c.id.desc()).limit(limit)
        if ids is not None:
            query = query.where(BROADCASTS.c.id.in_(ids))
        if author_id is not None:
            query = query.where(BROADCASTS.c.author_id == author_id)
        with self.engine.connect() as conn:
            found = conn.execute(query).all()
            wanted = [r.id for r in found]
            groups: dict[int, list[tuple[str, str]]] = {}
            for g in conn.execute(
                select(GROUPS).where(GROUPS.c.broadcast_id.in_(wanted)).order_by(GROUPS.c.id)
            ).all():
                groups.setdefault(g.broadcast_id, []).append((g.group_id, g.code))
            replies: dict[int, dict[str, set[str]]] = {}
            for r in conn.execute(
                select(REPLIES.c.broadcast_id, REPLIES.c.group_id, REPLIES.c.member_id).where(
                    REPLIES.c.broadcast_id.in_(wanted)
                )
            ).all():
                replies.setdefault(r[0], {}).setdefault(r[1], set()).add(r[2])
        return [
            Row(
                id=r.id,
                author_id=r.author_id,
                text=r.text,
                target=r.target,
                due_at=r.due_at,
                status=r.status,
                groups=tuple(groups.get(r.id, ())),
                replies={g: len(m) for g, m in replies.get(r.id, {}).items()},
            )
            for r in found
        ]

    def pending(self) -> list[Row]:
        with self.engine.connect() as conn:
            ids = [
                int(i)
                for i in conn.execute(select(BROADCASTS.c.id).where(BROADCASTS.c.status == PENDING)).scalars()
            ]
        return self.rows(ids=ids, limit=10_000) if ids else []


def reply_row(broadcast_id: int, group_id: str, member_id: str, at: datetime) -> dict[str, Any]:
    return {"broadcast_id": broadcast_id, "group_id": group_id, "member_id": member_id, "at": at}


__all__ = [
    "CODE_LENGTH",
    "POST_KIND",
    "Broadcasts",
    "Row",
    "Salutation",
    "broadcasts_of",
    "new_code",
    "reply_row",
]
