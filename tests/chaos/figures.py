"""The fault suite's figures, computed from what members saw and what the database holds.

Ground truth, and why:

* **What members saw** is the bot's stdout over every run (the simulator prints
  each message as it is handed to the "network"), so a message printed by a run
  that was then killed still counts as delivered.
* **An order is acknowledged** when a printed 接龙 list shows it: the list is
  rendered from committed orders, and it is the only place a member sees an
  accepted order. The list shows each member's total per product in a group,
  so the acknowledged quantity is the largest total ever shown (the suite
  never cancels, so totals only grow).
* **A notice was queued** when, at the instant of a kill, the database's outbox
  held it as `queued`: those members must hear it from a later run.
* **Delivered twice** compares printed messages with outbox rows: a (target,
  text) printed more often than there are rows with that text that left the
  outbox was sent twice.
* **Nodes** come from the campaign files (`compile_timeline`); each campaign
  here has at most one node of each kind and its own groups, so an outbox row's
  (group, kind) names its node.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.campaign import TimelineNode

BOT_NAME = "团购小助手"
HEADER_RE = re.compile(rf"^\d\d:\d\d:\d\d \[(?P<where>[^\]]+)\] {BOT_NAME}: (?P<text>.*)$")
CHAIN_LINE_RE = re.compile(r"^\d+\. (?P<name>\S+) (?P<product>\S+)×(?P<qty>\d+)")
MENTION_PREFIX_RE = re.compile(r"^(?:@\S+ )+")
NOTICE_NAMES_RE = re.compile(r"(?:：|～ )@(?P<names>\S+(?: @\S+)*)\s*$")
# (marker in the line, notice kind) in templates/orders/notices.j2; the first match wins.
NOTICE_KINDS = (
    ("还没开团", "not_open"),
    ("已结团，没能接上", "closed"),
    ("已售罄", "sold_out"),
    ("已为你接龙", "partial"),
    ("你已经买满", "limit"),
    ("这个商品编号", "unknown"),
    ("请写上商品编号", "which"),
    ("系统繁忙", "error"),
)


@dataclass(frozen=True)
class Printed:
    """One message the bot handed to the simulator's network."""

    run: int
    target: str  # "g:<group>" or "m:<member>"
    text: str  # as printed: with "@id " in front for mentions the text does not name


def parse_transcript(path: Path, run: int) -> list[Printed]:
    """Split a run's stdout into messages (a message may span lines)."""
    messages: list[Printed] = []
    where, lines = "", []  # type: tuple[str, list[str]]

    def flush() -> None:
        if where:
            target = f"m:{where.split('→', 1)[1].strip()}" if "→" in where else f"g:{where}"
            messages.append(Printed(run, target, "\n".join(lines).rstrip()))

    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        header = HEADER_RE.match(raw)
        if header:
            flush()
            where, lines = header.group("where"), [header.group("text")]
        elif where:
            lines.append(raw)
    flush()
    return messages


def unprefixed(text: str) -> str:
    """A message's text without the "@id " mentions the transport may put in front of it."""
    return MENTION_PREFIX_RE.sub("", text).rstrip()


def notice_items(text: str) -> set[tuple[str, str]]:
    """(notice kind, member name) pairs a notice text tells."""
    items: set[tuple[str, str]] = set()
    for line in text.splitlines():
        kind = next((k for marker, k in NOTICE_KINDS if marker in line), None)
        names = NOTICE_NAMES_RE.search(line)
        if kind is not None and names is not None:
            items.update((kind, name) for name in names.group("names").split(" @"))
    return items


def chain_quantities(text: str, products: dict[str, str]) -> dict[tuple[str, str], int]:
    """(member name, product code) -> quantity shown in a 接龙 list."""
    shown: dict[tuple[str, str], int] = {}
    if "接龙名单" not in text:
        return shown
    for line in text.splitlines():
        match = CHAIN_LINE_RE.match(line.strip())
        if match and match.group("product") in products:
            key = (match.group("name"), products[match.group("product")])
            shown[key] = max(shown.get(key, 0), int(match.group("qty")))
    return shown


def query(engine: sa.Engine, sql: str, **params: object) -> list[tuple[Any, ...]]:
    """Rows of `sql`; none when its table does not exist yet (a kill during the very first start)."""
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params).all()]
    except sa.exc.DBAPIError as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return []
        raise


@dataclass(frozen=True)
class QueuedNotice:
    """A notice the database held as queued when a run was killed."""

    after_run: int
    group: str
    kind: str
    member: str


def snapshot_queued_notices(engine: sa.Engine, after_run: int) -> list[QueuedNotice]:
    """Read, with the bot dead, every queued notice and whom it names."""
    rows = query(engine, "SELECT group_id, text FROM outbox WHERE status = 'queued' AND kind = 'notice'")
    return [
        QueuedNotice(after_run, group, kind, member)
        for group, text in rows
        for kind, member in notice_items(text)
    ]


@dataclass
class Figures:
    """The seven figures of issue 12 plus diagnostics that explain them."""

    acknowledged_orders_lost: int = 0
    units_oversold: int = 0
    members_over_limit: int = 0
    messages_delivered_twice: int = 0
    nodes_posted_twice: int = 0
    nodes_neither_posted_nor_skipped: int = 0
    queued_notices_never_told: int = 0
    details: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    info: dict[str, object] = field(default_factory=dict)

    FIGURES = (
        ("acknowledged_orders_lost", "acknowledged orders lost (units)"),
        ("units_oversold", "units oversold"),
        ("members_over_limit", "members over a limit"),
        ("messages_delivered_twice", "messages delivered twice"),
        ("nodes_posted_twice", "nodes posted twice"),
        ("nodes_neither_posted_nor_skipped", "nodes neither posted nor recorded as skipped"),
        ("queued_notices_never_told", "queued notices whose members were never told"),
    )

    def failing(self) -> dict[str, int]:
        return {name: getattr(self, name) for name, _ in self.FIGURES if getattr(self, name)}

    def table(self, title: str) -> str:
        width = max(len(label) for _, label in self.FIGURES) + 2
        lines = [title, "-" * (width + 8)]
        lines += [f"{label:<{width}}{getattr(self, name):>8}" for name, label in self.FIGURES]
        lines.append("-" * (width + 8))
        lines += [f"{key:<{width}}{value!s:>8}" for key, value in self.info.items()]
        for name, examples in self.details.items():
            if examples:
                lines.append(f"{name}: {len(examples)}, e.g.")
                lines += [f"    {example}" for example in examples[:8]]
        return "\n".join(lines)


def _note(figures: Figures, name: str, example: str) -> None:
    figures.details[name].append(example)


def order_figures(
    figures: Figures,
    engine: sa.Engine,
    campaign_id: str,
    products: dict[str, str],
    printed: Iterable[Printed],
) -> None:
    """Acknowledged orders lost, units oversold, members over a limit."""
    acknowledged: dict[tuple[str, str, str], int] = {}
    for message in printed:
        if message.target.startswith("g:"):
            for (name, code), qty in chain_quantities(message.text, products).items():
                key = (message.target[2:], name, code)
                acknowledged[key] = max(acknowledged.get(key, 0), qty)
    with engine.connect() as conn:
        held = conn.execute(
            sa.text(
                "SELECT group_id, member_name, product_code, SUM(quantity) FROM orders "
                "WHERE campaign_id = :c AND status = 'active' GROUP BY group_id, member_name, product_code"
            ),
            {"c": campaign_id},
        ).all()
        stock = conn.execute(
            sa.text(
                "SELECT product_code, stock, total, limit_per_member FROM campaign_stock WHERE campaign_id = :c"
            ),
            {"c": campaign_id},
        ).all()
        per_member = conn.execute(
            sa.text(
                "SELECT member_id, product_code, SUM(quantity) FROM orders "
                "WHERE campaign_id = :c AND status = 'active' GROUP BY member_id, product_code"
            ),
            {"c": campaign_id},
        ).all()
    in_db = {(g, n, c): int(q) for g, n, c, q in held}
    for key, qty in sorted(acknowledged.items()):
        lost = qty - in_db.get(key, 0)
        if lost > 0:
            figures.acknowledged_orders_lost += lost
            _note(
                figures,
                "acknowledged_orders_lost",
                f"{key}: shown ×{qty}, database holds ×{in_db.get(key, 0)}",
            )
    sold: Counter[str] = Counter()
    for _, code, qty in per_member:
        sold[code] += int(qty)
    limits = {code: int(limit) for code, _, _, limit in stock}
    for code, left, total, _ in stock:
        over = max(0, sold[code] - int(total)) + max(0, -int(left))
        figures.units_oversold += over
        if over:
            _note(figures, "units_oversold", f"{code}: {sold[code]} ordered of {total}, stock {left}")
        drift = int(total) - int(left) - sold[code]
        if drift:
            _note(
                figures,
                "stock_drift (diagnostic)",
                f"{code}: total-stock={int(total) - int(left)}, ordered {sold[code]}",
            )
    for member, code, qty in per_member:
        limit = limits.get(code, 0)
        if limit and int(qty) > limit:
            figures.members_over_limit += 1
            _note(figures, "members_over_limit", f"{member} {code}: {qty} > {limit}")
    figures.info[f"{campaign_id}: units acknowledged"] = sum(acknowledged.values())
    figures.info[f"{campaign_id}: units ordered (db)"] = sum(sold.values())
    figures.info[f"{campaign_id}: stock left"] = {code: int(left) for code, left, _, _ in stock}


def delivery_figures(figures: Figures, engine: sa.Engine, printed: list[Printed]) -> None:
    """Messages delivered twice: printed more often than rows with that text left the outbox."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT group_id, member_id, mentions, text, status FROM outbox")).all()
    left: Counter[tuple[str, str]] = Counter()
    for group, member, _, text, status in rows:
        if status in ("sent", "sending", "uncertain"):
            left[(f"g:{group}" if group else f"m:{member}", unprefixed(text))] += 1
    seen = Counter((m.target, unprefixed(m.text)) for m in printed)
    unmatched = 0
    for key, count in seen.items():
        if key not in left:
            unmatched += count
            continue
        if count > left[key]:
            figures.messages_delivered_twice += count - left[key]
            _note(figures, "messages_delivered_twice", f"{key[0]} ×{count}: {key[1][:60]!r}")
    figures.info["messages printed"] = sum(seen.values())
    figures.info["outbox rows uncertain"] = sum(1 for r in rows if r[4] == "uncertain")
    figures.info["outbox rows still queued"] = sum(1 for r in rows if r[4] == "queued")
    figures.info["printed, no outbox row (torn by kill)"] = unmatched


def node_figures(
    figures: Figures,
    engine: sa.Engine,
    campaign_id: str,
    nodes: list[TimelineNode],
    groups: list[str],
    due_before: datetime,
) -> None:
    """Nodes posted twice, and nodes neither posted nor recorded as skipped."""
    with engine.connect() as conn:
        ledger = {
            (n, g): s
            for n, g, s in conn.execute(
                sa.text("SELECT node_id, group_id, status FROM timeline_ledger WHERE campaign_id = :c"),
                {"c": campaign_id},
            ).all()
        }
        posts: Counter[tuple[str, str]] = Counter()
        undelivered: Counter[tuple[str, str]] = Counter()
        for group, kind, status in conn.execute(
            sa.text("SELECT group_id, kind, status FROM outbox WHERE group_id <> ''")
        ).all():
            posts[(group, kind)] += 1
            if status not in ("sent", "uncertain", "sending"):
                undelivered[(group, kind)] += 1
        states = dict(
            conn.execute(
                sa.text("SELECT group_id, status FROM campaign_groups WHERE campaign_id = :c"),
                {"c": campaign_id},
            ).all()
        )
    wanted = set(groups)
    checked = 0
    for node in nodes:
        if node.fire_at > due_before:
            continue
        for group in groups:
            checked += 1
            status = ledger.get((node.node_id, group))
            count = posts[(group, node.kind)]
            where = f"{campaign_id} {node.node_id} in {group}"
            if count > 1:
                figures.nodes_posted_twice += count - 1
                _note(figures, "nodes_posted_twice", f"{where}: {count} posts")
            if status is None or (status == "posted" and count == 0):
                figures.nodes_neither_posted_nor_skipped += 1
                _note(figures, "nodes_neither_posted_nor_skipped", f"{where}: ledger {status}, {count} posts")
            elif undelivered[(group, node.kind)]:
                _note(figures, "node posts never delivered (diagnostic)", f"{where}")
            if node.kind == "open" and status == "posted" and states.get(group) not in ("open", "closed"):
                _note(figures, "groups never opened (diagnostic)", f"{where}: state {states.get(group)}")
    figures.info[f"{campaign_id}: node×group checked"] = checked
    figures.info[f"{campaign_id}: groups"] = len(wanted)


def notice_figures(figures: Figures, queued: list[QueuedNotice], printed: list[Printed]) -> None:
    """Queued notices whose members never heard them in a later run."""
    told: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for message in printed:
        if message.target.startswith("g:"):
            for kind, member in notice_items(message.text):
                told[(message.target[2:], kind, member)].append(message.run)
    missing = set()
    for item in queued:
        runs = told.get((item.group, item.kind, item.member), [])
        if not any(run > item.after_run for run in runs):
            missing.add((item.group, item.kind, item.member))
    figures.queued_notices_never_told = len(missing)
    for group, kind, member in sorted(missing):
        _note(figures, "queued_notices_never_told", f"{member} in {group}: {kind}")
    figures.info["notice items queued at a kill"] = len({(q.group, q.kind, q.member) for q in queued})
