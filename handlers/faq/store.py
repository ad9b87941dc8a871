"""Storage for leader-added FAQ entries and the unanswered-question log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.storage.rowops import APPEND_LOG_RANK, RowOp
from handlers.faq.tables import FaqCustom, FaqUnanswered

_LOG_UNANSWERED = insert(FaqUnanswered)  # built once: the write-behind batches equal statements


@dataclass(frozen=True)
class Unanswered:
    member_id: str
    name: str
    text: str
    asked_at: datetime


class FaqStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, group_id: str, question: str, answer: str, by: str, now: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(FaqCustom).values(
                    group_id=group_id, question=question, answer=answer, added_by=by, added_at=now
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def remove(self, group_id: str, entry_id: int) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(FaqCustom).where(col(FaqCustom.group_id) == group_id, col(FaqCustom.id) == entry_id)
            )
            return bool(result.rowcount)

    def custom(self, group_id: str) -> list[tuple[int, str, str]]:
        """(id, question, answer) of the group's leader-added entries, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(col(FaqCustom.id), col(FaqCustom.question), col(FaqCustom.answer))
                .where(col(FaqCustom.group_id) == group_id)
                .order_by(col(FaqCustom.id))
            ).all()
        return [(int(r[0] or 0), str(r[1]), str(r[2])) for r in rows]

    def all_custom(self) -> dict[str, tuple[tuple[int, str, str], ...]]:
        """Every group's leader-added entries, (id, question, answer) oldest first, in one statement."""
        found: dict[str, list[tuple[int, str, str]]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    col(FaqCustom.group_id), col(FaqCustom.id), col(FaqCustom.question), col(FaqCustom.answer)
                ).order_by(col(FaqCustom.group_id), col(FaqCustom.id))
            ).all()
        for group_id, entry_id, question, answer in rows:
            found.setdefault(str(group_id), []).append((int(entry_id or 0), str(question), str(answer)))
        return {group_id: tuple(entries) for group_id, entries in found.items()}

    def log_unanswered(self, group_id: str, member_id: str, name: str, text: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(_LOG_UNANSWERED, dict(unanswered_row(group_id, member_id, name, text, now).params))

    def unanswered(self, group_id: str, limit: int = 10) -> list[Unanswered]:
        """The group's latest unanswered questions, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(FaqUnanswered)
                .where(col(FaqUnanswered.group_id) == group_id)
                .order_by(col(FaqUnanswered.asked_at).desc(), col(FaqUnanswered.id).desc())
                .limit(limit)
            ).all()
        return [Unanswered(r.member_id, r.member_name, r.text, r.asked_at) for r in rows]


def unanswered_row(group_id: str, member_id: str, name: str, text: str, now: datetime) -> RowOp:
    """The unanswered question's row, for a write-behind writer (nobody waits for it)."""
    params = {
        "group_id": group_id,
        "member_id": member_id,
        "member_name": name,
        "text": text[:500],
        "asked_at": now,
    }
    return RowOp(_LOG_UNANSWERED, params, rank=APPEND_LOG_RANK)
