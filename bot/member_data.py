"""One member's data on request: everything the bot stores about them, and forgetting it.

Which rows are a member's is read off the schema itself (`bot.schema.all_tables`): every
column that holds a member id (`MEMBER_COLUMNS`), plus the outbox rows that @-mention them.
A table added by a later feature is covered as long as it names its columns like the rest.

Forgetting follows one rule per table (`KEEP_TABLES`): transaction records (orders,
payments, refunds, coupons, points and red-packet credit: 电子商务法 第三十一条 requires keeping them
three years) keep their quantities and amounts with the member id replaced by a pseudonym;
everything else about the member (profile, memberships, their messages, remarks,
addresses, private messages to them) is deleted. Names and free texts in kept rows are
emptied. The pseudonym is one random token per forget, so the kept rows still add up to one
buyer's orders and payments without saying who it was.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Table, delete, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from bot.schema import all_tables

# Columns that hold a member id (the member acted, or was acted on).
MEMBER_COLUMNS = frozenset(
    {
        "member_id",
        "sender_id",
        "picked_by",
        "marked_by",
        "by",
        "by_id",
        "granted_by",
        "added_by",
        "started_by",
        "first_reply_by",
        "resolved_by",
        "updated_by",
    }
)
# The member's own row in these tables is keyed by `id`.
ID_IS_MEMBER = frozenset({"members"})
# Kept, pseudonymised: what was bought, paid, refunded or credited, and the audit trails.
KEEP_TABLES = frozenset(
    {
        "orders",
        "order_pickups",
        "payments",
        "order_adjustments",
        "payment_reminders",
        "pickup_codes",
        "aftersales_tickets",
        "engagement_coupons",
        "engagement_coupon_redemptions",
        "engagement_redpacket_grabs",
        "points_ledger",  # points are redeemable value, like coupons
        "points_balances",
        "points_redemptions",  # what points took off a campaign's orders (the net depends on it)
        "tier_discounts",  # the member discount a close priced their orders with (so does it)
        "lottery_entries",  # a drawn lottery's published list keeps its numbering
        "showoff_entries",  # a 晒单 reward paid (its coupon code and points)
        "gift_entries",  # a 前N名 gift given (its number, coupon code and points)
        "referral_payouts",  # a referral reward paid (its coupon code and points)
        "moderation_action",
        "order_guard_flags",
        "outbox",  # group posts that @-mentioned them (private messages to them are deleted)
    }
)
# Personal fields emptied in kept rows: names, free texts, remarks.
PERSONAL_COLUMNS = frozenset(
    {"member_name", "picked_by_name", "name", "inviter_name", "text", "note", "detail"}
)
PSEUDONYM_PREFIX = "forgotten-"


@dataclass
class TableReport:
    """What export or forget found and did in one table."""

    table: str
    rows: int = 0
    deleted: int = 0
    pseudonymised: int = 0
    note: str = ""


@dataclass
class MemberData:
    """Everything stored about one member: rows by table, as plain JSON-ready values."""

    member_id: str
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def names(self) -> set[str]:
        """Display names the member had (to scrub from group posts that quote them)."""
        found = set()
        for rows in self.tables.values():
            for row in rows:
                for key in ("member_name", "picked_by_name"):
                    if row.get(key) and row.get("member_id", self.member_id) == self.member_id:
                        found.add(str(row[key]))
        for row in self.tables.get("members", []):
            if row.get("name"):
                found.add(str(row["name"]))
        return {n for n in found if len(n) >= 2}


def _member_columns(table: Table) -> list[Column[Any]]:
    cols = [c for c in table.columns if c.name in MEMBER_COLUMNS]
    if table.name in ID_IS_MEMBER:
        cols.append(table.c.id)
    return cols


def _mentions(table: Table, member_id: str) -> ColumnElement[bool] | None:
    if table.name != "outbox":
        return None
    mentions = table.c.mentions
    return or_(
        mentions == member_id,
        mentions.like(f"{member_id},%"),
        mentions.like(f"%,{member_id}"),
        mentions.like(f"%,{member_id},%"),
    )


def _condition(table: Table, member_id: str) -> ColumnElement[bool] | None:
    parts: list[ColumnElement[bool]] = [c == member_id for c in _member_columns(table)]
    mention = _mentions(table, member_id)
    if mention is not None:
        parts.append(mention)
    return or_(*parts) if parts else None


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def collect(conn: Connection, member_id: str) -> MemberData:
    """Every row that names `member_id`, table by table."""
    data = MemberData(member_id)
    for table in sorted(all_tables(), key=lambda t: t.name):
        condition = _condition(table, member_id)
        if condition is None:
            continue
        rows = conn.execute(select(table).where(condition)).mappings().all()
        if rows:
            data.tables[table.name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return data


def export(engine: Engine, member_id: str) -> MemberData:
    """What the bot stores about `member_id` (read-only)."""
    with engine.connect() as conn:
        return collect(conn, member_id)


def new_pseudonym() -> str:
    """The id that replaces a forgotten member's in kept rows (random: it cannot be recomputed)."""
    return PSEUDONYM_PREFIX + secrets.token_hex(6)


def forget(engine: Engine, member_id: str, pseudonym: str | None = None) -> list[TableReport]:
    """Erase `member_id`'s personal data in one transaction; per table, what was done."""
    pseudonym = pseudonym or new_pseudonym()
    reports: list[TableReport] = []
    with engine.begin() as conn:
        data = collect(conn, member_id)
        for table in sorted(all_tables(), key=lambda t: t.name):
            if table.name in data.tables:
                report = TableReport(table.name, rows=len(data.tables[table.name]))
                _forget_in(conn, table, member_id, pseudonym, data.names, report)
                reports.append(report)
    return reports


def _own(table: Table) -> Column[Any] | None:
    """The column saying whose row it is (as opposed to who acted on it)."""
    if table.name in ID_IS_MEMBER:
        return table.c.id
    return next((c for c in table.columns if c.name in ("member_id", "sender_id")), None)


def _forget_in(
    conn: Connection, table: Table, member_id: str, pseudonym: str, names: set[str], report: TableReport
) -> None:
    own = _own(table)
    if table.name == "outbox":
        report.deleted = conn.execute(delete(table).where(table.c.member_id == member_id)).rowcount
        _scrub_group_posts(conn, table, member_id, pseudonym, names, report)
        report.note = "private messages deleted; group posts: mention and name removed"
        return
    if own is not None and table.name in KEEP_TABLES:
        personal = {c.name: "" for c in table.columns if c.name in PERSONAL_COLUMNS and not c.primary_key}
        result = conn.execute(update(table).where(own == member_id).values({own.name: pseudonym, **personal}))
        report.pseudonymised += result.rowcount
        report.note = "kept (transaction record): id pseudonymised, names and texts emptied"
    elif own is not None:
        report.deleted = conn.execute(delete(table).where(own == member_id)).rowcount
        report.note = "deleted"
    # Rows of others this member acted on (checked off a pickup, marked a payment, granted a role).
    for column in _member_columns(table):
        if column is own:
            continue
        result = conn.execute(update(table).where(column == member_id).values({column.name: pseudonym}))
        if result.rowcount:
            report.pseudonymised += result.rowcount
            report.note = (report.note + "; " if report.note else "") + f"{column.name} pseudonymised"


def _scrub_group_posts(
    conn: Connection, table: Table, member_id: str, pseudonym: str, names: set[str], report: TableReport
) -> None:
    mention = _mentions(table, member_id)
    assert mention is not None
    for row in conn.execute(select(table.c.id, table.c.mentions, table.c.text).where(mention)).all():
        mentions = ",".join(pseudonym if m == member_id else m for m in row.mentions.split(","))
        text = row.text
        for name in sorted(names, key=len, reverse=True):
            text = text.replace(name, "已注销用户")
        conn.execute(update(table).where(table.c.id == row.id).values(mentions=mentions, text=text))
        report.pseudonymised += 1


__all__ = ["MemberData", "TableReport", "collect", "export", "forget", "new_pseudonym"]
