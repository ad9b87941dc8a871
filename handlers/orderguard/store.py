"""Findings in the database: recorded once per member, listed for `/guard`.

`record` is how a check learns what is news: each flagged member is one insert that does
nothing when the row exists (the dialect's ``ON CONFLICT DO NOTHING``; the bot runs on SQLite
and PostgreSQL only), and only the rows it inserted are told. Two checks racing (the close
and a periodic one) cannot both insert a row, so neither repeats the other.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.storage.engine import upsert_insert
from handlers.orderguard.patterns import Finding, Flagged
from handlers.orderguard.tables import FLAGS


def record(conn: Connection, campaign_id: str, findings: list[Finding], now: datetime) -> list[Finding]:
    """Insert every flagged member not flagged before under the same finding; the findings with
    the members that are news (a finding with none is left out)."""
    insert = upsert_insert(conn)
    news = []
    for finding in findings:
        detail = json.dumps(dict(finding.detail), ensure_ascii=False, sort_keys=True)
        fresh = []
        for member in finding.members:
            stmt = (
                insert(FLAGS)
                .values(
                    campaign_id=campaign_id,
                    pattern=finding.pattern,
                    scope=finding.scope,
                    group_id=member.group_id,
                    member_id=member.member_id,
                    member_name=member.name,
                    orders=member.orders,
                    detail=detail,
                    found_at=now,
                )
                .on_conflict_do_nothing(
                    index_elements=[FLAGS.c.campaign_id, FLAGS.c.pattern, FLAGS.c.scope, FLAGS.c.member_id]
                )
            )
            if conn.execute(stmt).rowcount == 1:
                fresh.append(member)
        if fresh:
            news.append(Finding(finding.pattern, finding.scope, tuple(fresh), finding.detail))
    return news


def findings(conn: Connection, campaign_id: str) -> list[Finding]:
    """Every finding of a campaign so far, in the order first found, members in the order flagged."""
    rows = conn.execute(select(FLAGS).where(FLAGS.c.campaign_id == campaign_id).order_by(FLAGS.c.id)).all()
    members: dict[tuple[str, str], list[Flagged]] = {}
    details: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row.pattern, row.scope)
        members.setdefault(key, []).append(Flagged(row.member_id, row.group_id, row.member_name, row.orders))
        details[key] = row.detail  # the latest figures (a look-alike's id count grows)
    return [Finding(p, s, tuple(found), json.loads(details[(p, s)])) for (p, s), found in members.items()]


__all__ = ["findings", "record"]
