"""`Broadcasts`: the feature's per-app runtime: create, deliver once, cancel, and the codes in memory.

Why deliver is shaped as it is: a broadcast due later must go out once, whatever runs twice (a
job replayed after a crash, a restart between the job and its commit). Delivery first moves the
row pending -> sent with a conditional update, and writes every group's post into the outbox in
that same transaction (`Outbox.enqueue_in`); the loser of a race, or a rerun, updates no row
and writes nothing. The posts enter the send queue once the transaction has committed (the
returned `admit`, called on the event loop); the outbox spreads them within its limits.

Tracking codes live in memory (group -> code -> broadcast id, and code -> the broadcast's web
addresses for its links), read once at start and kept as broadcasts are created, sent or
cancelled, so neither the reply matcher nor the board's link route runs a query on the event
loop. Everything else here reads or writes the database: call it in a worker thread.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.context import Services
from bot.group_filter import CODE_ALPHABET
from bot.outbox import Draft
from bot.vocab import Priority
from handlers.broadcast.codes_memory import apply_codes, read_codes
from handlers.broadcast.links import urls_in, with_links
from handlers.broadcast.tables import BROADCASTS, CANCELLED, CLICKS, GROUPS, PENDING, REPLIES, SENT, SOURCES

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
    clicks: dict[str, int] = field(default_factory=dict)  # group id -> link clicks
    campaign_id: str = ""  # the campaign file it came from (broadcasts.messages); "" from chat


@dataclass(frozen=True)
class Source:
    """Where a campaign-file broadcast came from (`broadcast_sources`)."""

    campaign_id: str
    file: str
    position: int
    key: str


@dataclass(frozen=True)
class Link:
    """What a group's tracking link leads to, as held in memory for the board's route."""

    broadcast_id: int
    group_id: str
    url: str
    sent: bool  # clicks count once the broadcast went out (not the author trying the preview)


class Taken(Exception):
    """A campaign-file message already has its broadcast (another sync made it first)."""


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
        self._links: dict[str, tuple[int, str]] = {}  # code -> (broadcast id, group id)
        self._urls: dict[int, tuple[str, ...]] = {}  # broadcast id -> its addresses, if any
        self._sent: set[int] = set()
        self._lock = threading.Lock()
        self.loaded = False
        # The board's address for links ({base}/t/CODE), or None: no board, no links (set by the
        # feature's setup when the web board is on).
        self.link_base: Callable[[], str | None] = lambda: None

    # -- memory (read by the matcher on the loop) --------------------------------------------
    def load_codes(self) -> None:
        """Codes of every broadcast not cancelled: replies count long after the post went out."""
        apply_codes(self, read_codes(self.engine))
        self.loaded = True

    def known_ids(self) -> set[int]:
        with self._lock:
            return {b for known in self._codes.values() for b in known.values()}

    def mark_sent(self, broadcast_id: int) -> None:
        with self._lock:
            self._sent.add(broadcast_id)

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

    def link(self, code: str, n: int) -> Link | None:
        """The n-th address (1-based) behind a group's link `code`, from memory; None: unknown."""
        found = self._links.get(code.upper())
        if found is None:
            return None
        urls = self._urls.get(found[0], ())
        if not 1 <= n <= len(urls):
            return None
        return Link(found[0], found[1], urls[n - 1], found[0] in self._sent)

    def remember(self, broadcast_id: int, codes: dict[str, str], text: str) -> None:
        urls = tuple(urls_in(text))
        with self._lock:
            for group_id, code in codes.items():
                self._codes.setdefault(group_id, {})[code] = broadcast_id
                self._links[code] = (broadcast_id, group_id)
            if urls:
                self._urls[broadcast_id] = urls

    def forget(self, broadcast_id: int) -> None:
        """A cancelled broadcast: its codes are no reply and its links lead nowhere (404)."""
        with self._lock:
            for known in self._codes.values():
                for code in [c for c, b in known.items() if b == broadcast_id]:
                    del known[code]
            for code in [c for c, (b, _) in self._links.items() if b == broadcast_id]:
                del self._links[code]
            self._urls.pop(broadcast_id, None)

    # -- writes ----------------------------------------------------------------------------
    def create(
        self,
        author_id: str,
        text: str,
        target: str,
        group_ids: list[str],
        due_at: datetime,
        now: datetime,
        source: Source | None = None,
    ) -> tuple[int, dict[str, str]]:
        """Store a pending broadcast and a fresh code per group; its id and the codes.

        With `source` (a campaign-file message) the source row is written in the same
        transaction; `Taken` when that message already has its broadcast.
        """
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
                    if source is not None:
                        conn.execute(
                            insert(SOURCES).values(
                                broadcast_id=broadcast_id, live_key=source.key, **vars(source)
                            )
                        )
            except IntegrityError:
                if source is not None and self._live(source.key):
                    raise Taken(source.key) from None
                continue  # a code already taken (rare): draw again
            self.remember(broadcast_id, codes, text)
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
            if not self.cancel_pending(conn, broadcast_id, by):
                return f"already_{self.row(broadcast_id).status}"  # type: ignore[union-attr]
        self.forget(broadcast_id)
        return CANCELLED

    @staticmethod
    def cancel_pending(conn: Connection, broadcast_id: int, by: str) -> bool:
        """Cancel the broadcast in `conn`'s transaction if it is still pending; whether it was."""
        moved = conn.execute(
            update(BROADCASTS)
            .where(BROADCASTS.c.id == broadcast_id, BROADCASTS.c.status == PENDING)
            .values(status=CANCELLED, cancelled_by=by)
        ).rowcount
        return bool(moved == 1)

    def _live(self, key: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(SOURCES.c.id).where(SOURCES.c.live_key == key)).first() is not None

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
        with self._lock:
            self._sent.add(broadcast_id)
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
        """The group's copy: its salutation, the text (addresses as the group's own links when the
        board is on) and its reply code."""
        s = self.salutation(group_id)
        base = self.link_base()
        return self.services.renderer.render(
            "broadcast/post.j2",
            bot_name=self.services.config.bot.name,
            text=with_links(text, base, code) if base else text,
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
            clicks: dict[int, dict[str, int]] = {}
            for bid, group_id, count in conn.execute(
                select(CLICKS.c.broadcast_id, CLICKS.c.group_id, func.count())
                .where(CLICKS.c.broadcast_id.in_(wanted))
                .group_by(CLICKS.c.broadcast_id, CLICKS.c.group_id)
            ).all():
                clicks.setdefault(bid, {})[group_id] = int(count)
            sources: dict[int, str] = dict(
                conn.execute(
                    select(SOURCES.c.broadcast_id, SOURCES.c.campaign_id).where(
                        SOURCES.c.broadcast_id.in_(wanted)
                    )
                ).all()
            )
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
                clicks=clicks.get(r.id, {}),
                campaign_id=sources.get(r.id, ""),
            )
            for r in found
        ]

    def pending(self) -> list[Row]:
        with self.engine.connect() as conn:
            query = select(BROADCASTS.c.id).where(BROADCASTS.c.status == PENDING)
            ids = [int(i) for i in conn.execute(query).scalars()]
        return self.rows(ids=ids, limit=10_000) if ids else []


def reply_row(broadcast_id: int, group_id: str, member_id: str, at: datetime) -> dict[str, Any]:
    return {"broadcast_id": broadcast_id, "group_id": group_id, "member_id": member_id, "at": at}


__all__ = [
    "CODE_LENGTH",
    "POST_KIND",
    "Broadcasts",
    "Link",
    "Row",
    "Salutation",
    "Source",
    "Taken",
    "broadcasts_of",
    "new_code",
    "reply_row",
]
