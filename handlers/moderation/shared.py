"""Mutes and strikes recorded by another account's process, followed for groups this one may
take over (several accounts: docs/deploy.md).

A group's moderation state lives in the process that serves it (`/mute` is a group command; the
ladder counts what that process hears). When that process goes down and a standby takes the
group over, the standby must already know who is muted there, so each process follows the
audit log (new rows by id, once a second) and applies the rows of groups it does not serve now.
Its own groups' rows it wrote itself: applying them again would only repeat a strike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from bot.context import Services
from handlers.moderation.audit import TABLE
from handlers.moderation.service import Moderation


@dataclass
class ModerationShared:
    services: Services
    moderation: Moderation
    last_id: int | None = None  # read in the peer sync's thread only

    def read(self) -> list[Any]:
        with self.services.repo.engine.connect() as conn:
            if self.last_id is None:  # start-up read the recent log already: follow from its end
                self.last_id = int(conn.execute(select(func.coalesce(func.max(TABLE.c.id), 0))).scalar_one())
                return []
            rows = conn.execute(select(TABLE).where(TABLE.c.id > self.last_id).order_by(TABLE.c.id)).all()
        if rows:
            self.last_id = max(int(r.id) for r in rows)
        return list(rows)

    def apply(self, rows: list[Any]) -> None:
        outbox = self.services.outbox
        others = [r for r in rows if outbox.account_of(r.group_id) != outbox.store.account]
        if others:
            now = self.services.clock.now()
            self.moderation.restore(
                [(r.group_id, r.member_id, r.action, r.strike, r.at, r.until) for r in others], now
            )
