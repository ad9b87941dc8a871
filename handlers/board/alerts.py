"""The monitoring alerts as they fired, read from where they are recorded: the outbox table.

The monitor (`handlers.monitoring.monitor`) keeps its rule states in memory and records each
alert only as the private messages it queues, `kind='alert'`, one row per recipient (the
group's leaders and the admins; queued alerts to one person are merged into one row). So the
board shows a leader exactly the alerts the bot sent them, and an admin those sent to the
admins, from any process reading the database (`tuanbot web` too).

Each alert is a headline (⚠️ fired, ✅ recovered) naming 【campaign title·group】 and, when it
fired, a suggestion line (`templates/monitor/alert.j2`). Rows are read incrementally: new ids
past the last one seen, plus the rows still queued last time (a merge may have grown them).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.group_filter import mask_group_text
from bot.storage.tables import OutboxRow

ALERT_KIND = "alert"
FIRED, RECOVERED = "⚠️【", "✅【"
KEPT_ROWS = 500  # the newest alert rows kept in memory (a day of a busy sale's alerts)
_COLUMNS = select(
    col(OutboxRow.id),
    col(OutboxRow.member_id),
    col(OutboxRow.text),
    col(OutboxRow.created_at),
    col(OutboxRow.status),
)


@dataclass(frozen=True)
class AlertRow:
    """One alert, as one recipient got it."""

    outbox_id: int
    member_id: str
    at: datetime
    fired: bool
    headline: str  # masked as in group posts
    advice: str


@dataclass
class _Stored:
    member_id: str
    text: str
    at: datetime
    status: str


def split_alerts(text: str) -> list[tuple[str, str]]:
    """(headline, advice) for each alert in one message (merged messages hold several)."""
    found: list[tuple[str, list[str]]] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith((FIRED, RECOVERED)):
            found.append((stripped, []))
        elif stripped and found:
            found[-1][1].append(stripped)
    return [(head, " ".join(rest)) for head, rest in found]


class AlertLog:
    """The outbox's alert rows, kept in memory and topped up on each read."""

    def __init__(self, kept: int = KEPT_ROWS) -> None:
        self.kept = kept
        self._rows: OrderedDict[int, _Stored] = OrderedDict()
        self._last_id = 0
        self._started = False
        self._lock = threading.Lock()

    def refresh(self, engine: Engine) -> None:
        alerts = _COLUMNS.where(col(OutboxRow.kind) == ALERT_KIND)
        with engine.connect() as conn:
            if not self._started:  # the newest ones once (the only read that scans the table)
                newest = alerts.order_by(col(OutboxRow.id).desc()).limit(self.kept)
                rows = list(reversed(conn.execute(newest).all()))
                self._started = True
            else:  # then by primary key: the new ones, and those a merge may have grown
                newer = alerts.where(col(OutboxRow.id) > self._last_id).order_by(col(OutboxRow.id))
                rows = list(conn.execute(newer).all())
                waiting = [i for i, row in self._rows.items() if row.status == "queued"]
                if waiting:
                    rows = [*conn.execute(_COLUMNS.where(col(OutboxRow.id).in_(waiting))).all(), *rows]
        for row_id, member_id, text, at, status in rows:
            row_id = int(row_id or 0)
            self._rows[row_id] = _Stored(member_id, text, at, status)
            self._last_id = max(self._last_id, row_id)
        while len(self._rows) > self.kept:
            self._rows.popitem(last=False)

    def read(self, engine: Engine, title: str, since: datetime) -> list[AlertRow]:
        """This campaign's alerts since `since`, oldest first, every recipient's copy."""
        marker = f"【{title}·"
        with self._lock:
            self.refresh(engine)
            stored = list(self._rows.items())
        found = []
        for row_id, row in stored:
            if row.at < since:
                continue
            for headline, advice in split_alerts(row.text):
                if marker in headline:
                    found.append(
                        AlertRow(
                            row_id,
                            row.member_id,
                            row.at,
                            headline.startswith(FIRED),
                            mask_group_text(headline),
                            mask_group_text(advice),
                        )
                    )
        return found


__all__ = ["ALERT_KIND", "AlertLog", "AlertRow", "split_alerts"]
