"""The three-account sale's figures (issue 18, acceptance 1), from what members saw and the database.

Ground truth, and why:

* **What members saw** is every account process's stdout over every start, the killed
  start's up to the kill (the simulator prints each message as it hands it to the
  "network"). Each printed message is attributed to the account whose process printed it.
* **What the processes did** is the shared database: `orders` and `campaign_stock` (one
  stock per product for every account), `timeline_ledger` (one row per node and group,
  ever), `outbox` (`account`, `status`, `sent_at` of every row).
* **Which process sent which row** is the JSON log: the outbox logs `sent …` with the row's
  `outbox_id` and the process id, after the message left. A SIGKILL can lose the last lines
  of the killed process, which can hide a send but never invent one.

The acknowledged-orders and delivered-twice figures are the fault suite's own
(tests/chaos/figures.py), computed the same way here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.campaign import TimelineNode
from tests.chaos.figures import Figures as ChaosFigures
from tests.chaos.figures import Printed, delivery_figures, order_figures, query, unprefixed
from tests.multiaccount.driver import Layout

# The outbox kinds each timeline node posts (handlers/selling, bot/campaign/nodes.py). The close
# also thanks its buyers (kind "thanks") when the group has any: checked as at most once.
NODE_POST_KINDS = {
    "preheat": ("preheat",),
    "countdown": ("countdown",),
    "open": ("open",),
    "broadcast": ("broadcast",),
    "close": ("close", "preview"),
    "followup": ("followup",),
}
LEFT = ("sent", "uncertain", "sending")  # a row in one of these may have reached the group


@dataclass
class Figures:
    """Every figure must be 0; `info` and `details` explain them."""

    units_oversold: int = 0
    acknowledged_orders_lost: int = 0
    orders_counted_twice: int = 0
    stock_rows_not_one: int = 0
    accounts_without_orders: int = 0
    units_left_unsold: int = 0
    ledger_rows_missing: int = 0
    ledger_rows_extra: int = 0
    node_posts_missing: int = 0
    node_posts_twice: int = 0
    messages_delivered_twice: int = 0
    rows_sent_twice: int = 0
    rows_sent_by_another_account: int = 0
    printed_by_account_not_in_group: int = 0
    private_by_account_not_in_group: int = 0
    scheduler_not_taken_over_in_30s: int = 0
    sends_over_account_limit: int = 0
    rows_never_sent: int = 0
    unexpected_exits: int = 0
    details: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    info: dict[str, object] = field(default_factory=dict)

    LABELS = (
        ("units_oversold", "units oversold"),
        ("acknowledged_orders_lost", "acknowledged orders lost (units)"),
        ("orders_counted_twice", "members with more units than they asked"),
        ("stock_rows_not_one", "products without exactly one stock row"),
        ("accounts_without_orders", "accounts with no order in their groups"),
        ("units_left_unsold", "units left unsold (demand exceeded stock)"),
        ("ledger_rows_missing", "node×group without a ledger row"),
        ("ledger_rows_extra", "node×group with more than one ledger row"),
        ("node_posts_missing", "posted nodes whose post never left"),
        ("node_posts_twice", "node posts queued or printed twice"),
        ("messages_delivered_twice", "messages delivered twice (transcripts)"),
        ("rows_sent_twice", "outbox rows sent twice (log)"),
        ("rows_sent_by_another_account", "rows sent by an account that does not own them"),
        ("printed_by_account_not_in_group", "posts printed by an account not in the group"),
        ("private_by_account_not_in_group", "private messages by an account not in the member's group"),
        ("scheduler_not_taken_over_in_30s", "scheduler not taken over within 30 s"),
        ("sends_over_account_limit", "sends over an account's per-minute limit"),
        ("rows_never_sent", "outbox rows still queued or sending at the end"),
        ("unexpected_exits", "processes that exited by themselves with an error"),
    )

    def failing(self) -> dict[str, int]:
        return {name: getattr(self, name) for name, _ in self.LABELS if getattr(self, name)}

    def note(self, name: str, example: str) -> None:
        self.details[name].append(example)

    def table(self, title: str) -> str:
        width = max(len(label) for _, label in self.LABELS) + 2
        lines = [title, "-" * (width + 8)]
        lines += [f"{label:<{width}}{getattr(self, name):>8}" for name, label in self.LABELS]
        lines.append("-" * (width + 8))
        lines += [f"{key:<{width}}{value!s:>8}" for key, value in self.info.items()]
        for name, examples in self.details.items():
            if examples:
                lines.append(f"{name}: {len(examples)}, e.g.")
                lines += [f"    {example}" for example in examples[:8]]
        return "\n".join(lines)


def order_checks(
    figures: Figures,
    engine: sa.Engine,
    campaign_id: str,
    products: dict[str, tuple[str, int]],
    layout: Layout,
    asked: dict[str, int],
    printed: list[Printed],
    lowest_stock_seen: int | None,
) -> None:
    """Oversold, lost, doubled orders; one stock row per product drawn on by every account."""
    chaos = ChaosFigures()
    order_figures(chaos, engine, campaign_id, {name: code for code, (name, _) in products.items()}, printed)
    figures.units_oversold = chaos.units_oversold
    figures.acknowledged_orders_lost = chaos.acknowledged_orders_lost
    for name in ("units_oversold", "acknowledged_orders_lost", "stock_drift (diagnostic)"):
        figures.details[name] += chaos.details.get(name, [])
    stock = query(
        engine, "SELECT product_code, stock, total FROM campaign_stock WHERE campaign_id = :c", c=campaign_id
    )
    rows_per_code = Counter(code for code, _, _ in stock)
    for code in products:
        if rows_per_code[code] != 1:
            figures.stock_rows_not_one += 1
            figures.note("stock_rows_not_one", f"{code}: {rows_per_code[code]} rows")
    held = query(
        engine,
        "SELECT member_id, group_id, SUM(quantity) FROM orders WHERE campaign_id = :c AND status = 'active' "
        "GROUP BY member_id, group_id",
        c=campaign_id,
    )
    per_account: Counter[str] = Counter()
    for member, group, qty in held:
        per_account[layout.primary(group)] += int(qty)
        if int(qty) > asked.get(member, 0):
            figures.orders_counted_twice += 1
            figures.note(
                "orders_counted_twice", f"{member} in {group}: {qty} held, asked {asked.get(member, 0)}"
            )
    for account in layout.ids:
        if not per_account[account]:
            figures.accounts_without_orders += 1
            figures.note("accounts_without_orders", f"{account}: no committed order in its groups")
    left = {code: int(s) for code, s, _ in stock}
    if sum(asked.values()) > sum(s for _, s in products.values()):
        figures.units_left_unsold = sum(max(0, s) for s in left.values())
    figures.info["units asked (all lines fed)"] = sum(asked.values())
    figures.info["units in stock at start"] = sum(s for _, s in products.values())
    figures.info["units held, by primary account"] = dict(sorted(per_account.items()))
    figures.info["stock left"] = left
    figures.info["lowest stock sampled during the sale"] = lowest_stock_seen
    figures.info["units acknowledged in 接龙 lists"] = chaos.info.get(f"{campaign_id}: units acknowledged")


def node_checks(
    figures: Figures,
    engine: sa.Engine,
    campaign_id: str,
    nodes: list[TimelineNode],
    groups: list[str],
    printed: list[Printed],
) -> None:
    """One ledger row per node and group; each posted node's post queued once and left once."""
    ledger: dict[tuple[str, str], tuple[int, str]] = {
        (n, g): (int(count), status)
        for n, g, count, status in query(
            engine,
            "SELECT node_id, group_id, COUNT(*), MIN(status) FROM timeline_ledger WHERE campaign_id = :c "
            "GROUP BY node_id, group_id",
            c=campaign_id,
        )
    }
    posted: Counter[tuple[str, str]] = Counter()  # (group, post kind) -> posted nodes
    statuses: Counter[str] = Counter()
    for node in nodes:
        for group in groups:
            count, status = ledger.get((node.node_id, group), (0, ""))
            statuses[status or "none"] += 1
            if count == 0:
                figures.ledger_rows_missing += 1
                figures.note("ledger_rows_missing", f"{node.node_id} in {group}")
            elif count > 1:
                figures.ledger_rows_extra += count - 1
                figures.note("ledger_rows_extra", f"{node.node_id} in {group}: {count} rows")
            if status == "posted":
                for kind in NODE_POST_KINDS.get(node.kind, (node.kind,)):
                    posted[(group, kind)] += 1
    wanted = set(groups)
    rows: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
    for row_id, group, kind, status, text in query(
        engine, "SELECT id, group_id, kind, status, text FROM outbox WHERE group_id <> ''"
    ):
        if group in wanted:
            rows[(group, kind)].append((int(row_id), status, text))
    seen = Counter((m.target, unprefixed(m.text)) for m in printed)
    for (group, kind), expected in sorted(posted.items()):
        found = rows.get((group, kind), [])
        left = [r for r in found if r[1] in LEFT]
        if len(found) > expected:
            figures.node_posts_twice += len(found) - expected
            figures.note("node_posts_twice", f"{kind} in {group}: {len(found)} rows for {expected} node(s)")
        if len(left) < expected:
            figures.node_posts_missing += expected - len(left)
            states = ", ".join(f"#{i} {s}" for i, s, _ in found) or "no row"
            figures.note("node_posts_missing", f"{kind} in {group}: {states}")
        texts = Counter(unprefixed(t) for _, s, t in left)
        for text, count in texts.items():
            shown = seen[(f"g:{group}", text)]
            if shown > count:
                figures.node_posts_twice += shown - count
                figures.note("node_posts_twice", f"{kind} in {group} printed ×{shown}: {text[:40]!r}")
            elif shown < count:
                figures.note(
                    "node posts left but not printed (diagnostic)", f"{kind} in {group}: {text[:40]!r}"
                )
    thanks = Counter(group for (group, kind), found in rows.items() if kind == "thanks" for _ in found)
    for group, count in thanks.items():
        if count > 1:
            figures.node_posts_twice += count - 1
            figures.note("node_posts_twice", f"thanks in {group}: {count} rows")
    figures.info["nodes × groups"] = f"{len(nodes)} × {len(groups)}"
    figures.info["ledger statuses"] = dict(sorted(statuses.items()))
    figures.info["node posts expected"] = sum(posted.values())


def delivery_checks(
    figures: Figures,
    engine: sa.Engine,
    layout: Layout,
    printed: list[tuple[str, Printed]],
    records: list[dict[str, Any]],
    account_of_pid: dict[int, str],
    homes: dict[str, str],
) -> None:
    """Nothing delivered twice; each row sent once, by the process of the account that owns it;
    group posts and private messages to members (`homes`: member -> their group) by an account
    in that group."""
    chaos = ChaosFigures()
    delivery_figures(chaos, engine, [m for _, m in printed])
    figures.messages_delivered_twice = chaos.messages_delivered_twice
    figures.details["messages_delivered_twice"] += chaos.details.get("messages_delivered_twice", [])
    figures.info["messages printed"] = chaos.info.get("messages printed")
    figures.info["outbox rows uncertain"] = chaos.info.get("outbox rows uncertain")
    for row_id, account, target, kind, status, not_before in query(
        engine,
        "SELECT id, account, group_id || member_id, kind, status, not_before FROM outbox "
        "WHERE status IN ('queued', 'sending') ORDER BY id",
    ):
        figures.rows_never_sent += 1
        figures.note(
            "rows_never_sent", f"#{row_id} {account} → {target} {kind} {status}, not before {not_before}"
        )
    owner = {int(i): a for i, a in query(engine, "SELECT id, account FROM outbox")}
    groups = dict(query(engine, "SELECT id, group_id FROM outbox"))
    sends: dict[int, list[int]] = defaultdict(list)
    for record in records:
        outbox_id = record.get("extra", {}).get("outbox_id")
        if outbox_id is not None and record["message"].startswith("sent "):
            sends[int(outbox_id)].append(int(record.get("process", {}).get("id", 0)))
    for outbox_id, pids in sorted(sends.items()):
        if len(pids) > 1:
            figures.rows_sent_twice += len(pids) - 1
            figures.note("rows_sent_twice", f"#{outbox_id} sent by pids {pids}")
        sender = account_of_pid.get(pids[0], "?")
        group = groups.get(outbox_id, "")
        if sender != owner.get(outbox_id) or (group and sender not in layout.listers(group)):
            figures.rows_sent_by_another_account += 1
            figures.note(
                "rows_sent_by_another_account",
                f"#{outbox_id} to {group or 'a member'}: row account {owner.get(outbox_id)!r}, sent by {sender}",
            )
    for account, message in printed:
        group = message.target[2:] if message.target.startswith("g:") else ""
        if group and account not in layout.listers(group):
            figures.printed_by_account_not_in_group += 1
            figures.note(
                "printed_by_account_not_in_group", f"{account} printed in {group}: {message.text[:40]!r}"
            )
        member = message.target[2:] if message.target.startswith("m:") else ""
        if member in homes and account not in layout.listers(homes[member]):
            figures.private_by_account_not_in_group += 1
            figures.note(
                "private_by_account_not_in_group",
                f"{account} → {member} (in {homes[member]}): {message.text[:30]!r}",
            )
    by_account = Counter(account for account, _ in printed)
    figures.info["messages printed, by account"] = dict(sorted(by_account.items()))
    figures.info["'sent' log lines with a row id"] = sum(len(p) for p in sends.values())


def rate_checks(figures: Figures, engine: sa.Engine, layout: Layout, per_minute: int) -> None:
    """Each account's sends (rows it owns, by `sent_at`) within its limit in every 60 s window."""
    times: dict[str, list[datetime]] = defaultdict(list)
    for account, sent_at in query(
        engine, "SELECT account, sent_at FROM outbox WHERE sent_at IS NOT NULL ORDER BY sent_at"
    ):
        times[account].append(sent_at)
    peaks: dict[str, int] = {}
    for account, moments in sorted(times.items()):
        start, peak = 0, 0
        for end, moment in enumerate(moments):
            while moment - moments[start] >= timedelta(seconds=60):
                start += 1
            peak = max(peak, end - start + 1)
            if end - start + 1 > per_minute:
                figures.sends_over_account_limit += 1
                figures.note("sends_over_account_limit", f"{account}: {end - start + 1} sends by {moment}")
        peaks[account or "(no account)"] = peak
    unknown = sorted(set(times) - set(layout.ids))
    if unknown:
        figures.note("rows with an account not in the config (diagnostic)", ", ".join(map(repr, unknown)))
    everyone = sorted(m for moments in times.values() for m in moments)
    start, peak = 0, 0
    for end, moment in enumerate(everyone):
        while moment - everyone[start] >= timedelta(seconds=60):
            start += 1
        peak = max(peak, end - start + 1)
    figures.info["account_per_minute (each account)"] = per_minute
    figures.info["most sends in any 60 s, by account"] = peaks
    figures.info["most sends in any 60 s, all accounts"] = peak
