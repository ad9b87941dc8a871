"""Flash sale: 10,000 order attempts in one burst against 2,000 units, beside plain `sqlite3`.

10,000 attempts from 5,000 members in 100 groups, against 5 products of 400
units each with a per-member limit of 2 per product.

* baseline: the same conditional decrement + order insert (with the limit check
  and the group-open check) in plain `sqlite3`, one transaction per attempt;
* the order writer (`handlers.selling.order_writer.OrderWriter` over
  `handlers.selling.store.OrderStore`): every attempt submitted at once, each
  caller's result checked to arrive only after the batch holding it committed;
* end to end (the goal lines): the same attempts as chat messages ("A1 2")
  through the app's inbound path with the full handler set, delivered one at a
  time as the wechaty adapter does (`bench.flash_e2e`); orders counted, and
  receipt → commit timed, from the database; time-capped, so a slow path is
  measured on a sample. Twice, each on a fresh app: as fast as the loop takes
  them (the throughput goal; nothing in real chat arrives faster than it is read,
  so this run's receipt → commit is reported, not judged), and paced at the goal's
  5,000 messages a second (the latency goal: p99 receipt → commit at that rate,
  as the routing benchmark judges latency at a paced rate);
* the order writer again on PostgreSQL when `pgserver` is installed (full run only).

Units sold must equal the stock exactly: zero oversold, zero lost, no member over the
limit, and no order acknowledged before its commit.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    Goal,
    Progress,
    Result,
    cli,
    group_ids,
    load_campaign,
    order_writer_parts,
    percentile,
    production_logging,
    say,
)
from bench.flash_e2e import end_to_end
from bot import event_loop

N_ATTEMPTS = 10_000
N_MEMBERS = 5_000
N_GROUPS = 100
PRODUCTS = ("A1", "A2", "A3", "A4", "A5")
STOCK_EACH = 400
LIMIT = 2
CAMPAIGN_ID = "flash"
E2E_MAX_SECONDS = 30.0
QUICK_E2E_MAX_SECONDS = 10.0
PG_MAX_SECONDS = 60.0
GOAL_RATE = 5_000
GOAL_P99_MS = 100.0


@dataclass(frozen=True)
class Attempt:
    member: int
    group: int
    code: str
    qty: int


def make_attempts(seed: int = 11) -> list[Attempt]:
    """Two attempts per member, the strawberries most wanted, mostly 1–2 units."""
    rng = random.Random(seed)
    attempts = []
    for member in range(N_MEMBERS):
        for _ in range(N_ATTEMPTS // N_MEMBERS):
            code = rng.choices(PRODUCTS, weights=(40, 20, 15, 15, 10))[0]
            qty = rng.choices((1, 2, 3), weights=(70, 25, 5))[0]
            attempts.append(Attempt(member, member % N_GROUPS, code, qty))
    rng.shuffle(attempts)
    return attempts


def member_id(index: int) -> str:
    return f"wxid_fs{index:07d}"


def campaign_text(opens_at: datetime, closes_at: datetime) -> str:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    lines = [
        f"id: {CAMPAIGN_ID}",
        "title: 限时秒杀",
        f"opens_at: '{opens_at.astimezone(UTC).strftime(fmt)}'",
        f"closes_at: '{closes_at.astimezone(UTC).strftime(fmt)}'",
        "group_tags: [flash]",
        "products:",
    ]
    names = ("丹东草莓", "赣南脐橙", "金煌芒", "冰糖心苹果", "云南蓝莓")
    for code, name in zip(PRODUCTS, names, strict=True):
        lines.append(
            f"  - {{code: {code}, name: {name}, price: 29.90, unit: 盒, stock: {STOCK_EACH}, "
            f"limit_per_member: {LIMIT}}}"
        )
    lines += [
        "countdowns: ['T-1m']",
        "open: {text: 秒杀开始！回复“编号 数量”下单}",
        "broadcasts:",
        "  at: ['T+30m']",
    ]
    return "\n".join(lines) + "\n"


# -- baseline: plain sqlite3 -------------------------------------------------------------
def baseline_sqlite3(path: Path, attempts: list[Attempt]) -> dict[str, Any]:
    """One transaction per attempt: group open?, member's units so far, conditional decrement, insert."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(
        """
        CREATE TABLE stock (campaign_id TEXT, code TEXT, stock INTEGER NOT NULL CHECK (stock >= 0),
                            lim INTEGER, PRIMARY KEY (campaign_id, code));
        CREATE TABLE groups (campaign_id TEXT, group_id TEXT, status TEXT, PRIMARY KEY (campaign_id, group_id));
        CREATE TABLE orders (id INTEGER PRIMARY KEY, campaign_id TEXT, group_id TEXT, member_id TEXT,
                             member_name TEXT, code TEXT, quantity INTEGER CHECK (quantity > 0),
                             price INTEGER, status TEXT, created_at TEXT);
        CREATE INDEX ix_orders_member ON orders (campaign_id, member_id, code, status);
        """
    )
    db.executemany(
        "INSERT INTO stock VALUES (?, ?, ?, ?)", [(CAMPAIGN_ID, c, STOCK_EACH, LIMIT) for c in PRODUCTS]
    )
    groups = group_ids(N_GROUPS)
    db.executemany("INSERT INTO groups VALUES (?, ?, 'open')", [(CAMPAIGN_ID, g) for g in groups])
    latencies: list[float] = []
    sold = 0
    now = datetime.now(UTC).isoformat()
    started = time.perf_counter()
    for a in attempts:
        gid, mid = groups[a.group], member_id(a.member)
        db.execute("BEGIN IMMEDIATE")
        status = db.execute(
            "SELECT status FROM groups WHERE campaign_id = ? AND group_id = ?", (CAMPAIGN_ID, gid)
        ).fetchone()
        if status and status[0] == "open":
            stock, lim = db.execute(
                "SELECT stock, lim FROM stock WHERE campaign_id = ? AND code = ?", (CAMPAIGN_ID, a.code)
            ).fetchone()
            have = db.execute(
                "SELECT COALESCE(SUM(quantity), 0) FROM orders "
                "WHERE campaign_id = ? AND member_id = ? AND code = ? AND status = 'active'",
                (CAMPAIGN_ID, mid, a.code),
            ).fetchone()[0]
            fill = min(a.qty, max(0, lim - have), stock)
            if fill > 0:
                cur = db.execute(
                    "UPDATE stock SET stock = stock - ? WHERE campaign_id = ? AND code = ? AND stock >= ?",
                    (fill, CAMPAIGN_ID, a.code, fill),
                )
                if cur.rowcount == 1:
                    db.execute(
                        "INSERT INTO orders (campaign_id, group_id, member_id, member_name, code, quantity, "
                        "price, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 2990, 'active', ?)",
                        (CAMPAIGN_ID, gid, mid, f"团员{a.member}", a.code, fill, now),
                    )
                    sold += fill
        db.execute("COMMIT")
        latencies.append(time.perf_counter() - started)
    elapsed = time.perf_counter() - started
    in_db = db.execute("SELECT COALESCE(SUM(quantity), 0) FROM orders").fetchone()[0]
    left = db.execute("SELECT SUM(stock) FROM stock").fetchone()[0]
    db.close()
    return {
        "attempts": len(attempts),
        "seconds": round(elapsed, 3),
        "rate": len(attempts) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "sold": sold,
        "sold_in_db": in_db,
        "left": left,
    }


# -- the order writer ------------------------------------------------------------------------
def _campaign(now: datetime) -> Any:
    return load_campaign(campaign_text(now - timedelta(hours=2), now + timedelta(days=1)), "flash.yaml")


def check_db(engine: Any) -> dict[str, Any]:
    """What the database says: units sold per product, stock left, members over their limit."""
    from sqlalchemy import text

    with engine.connect() as conn:
        sold = dict(
            conn.execute(
                text(
                    "SELECT product_code, SUM(quantity) FROM orders "
                    "WHERE campaign_id = :c AND status = 'active' GROUP BY product_code"
                ),
                {"c": CAMPAIGN_ID},
            ).all()
        )
        left = dict(
            conn.execute(
                text("SELECT product_code, stock FROM campaign_stock WHERE campaign_id = :c"),
                {"c": CAMPAIGN_ID},
            ).all()
        )
        over = conn.execute(
            text(
                "SELECT COUNT(*) FROM (SELECT member_id, product_code FROM orders WHERE campaign_id = :c "
                "AND status = 'active' GROUP BY member_id, product_code HAVING SUM(quantity) > :lim) AS x"
            ),
            {"c": CAMPAIGN_ID, "lim": LIMIT},
        ).scalar_one()
    return {
        "sold_in_db": int(sum(sold.values())),
        "sold_by_product": {k: int(v) for k, v in sold.items()},
        "left": int(sum(left.values())),
        "members_over_limit": int(over),
    }


async def writer_burst(engine: Any, attempts: list[Attempt], label: str) -> dict[str, Any]:
    """Submit every attempt at once to one OrderWriter; results must arrive only after their commit."""
    OrderWriter, OrderStore, PlaceOrder, _, _ = order_writer_parts()
    now = datetime.now(UTC)
    store = OrderStore(engine)
    store.ensure_stock(_campaign(now), now)
    groups = group_ids(N_GROUPS)
    for gid in groups:
        store.set_group_status(CAMPAIGN_ID, gid, "open", now)

    committed: set[int] = set()
    original_apply = store.apply

    def apply(ops: list[Any], at: datetime) -> list[Any]:
        results = original_apply(ops, at)  # returns after the commit
        committed.update(id(op) for op in ops)
        return results

    store.apply = apply
    writer = OrderWriter(store, lambda: datetime.now(UTC))
    ops = [
        PlaceOrder(
            CAMPAIGN_ID, groups[a.group], member_id(a.member), f"团员{a.member}", ((a.code, a.qty),), now
        )
        for a in attempts
    ]
    latencies: list[float] = []
    early = 0
    filled = 0
    progress = Progress(f"flash_sale writer ({label})", len(ops), unit="order")

    async def one(op: Any) -> None:
        nonlocal early, filled
        result = await writer.submit(op)
        latencies.append(time.perf_counter() - started)
        if id(op) not in committed:
            early += 1
        filled += result.filled
        progress.tick(len(latencies))

    started = time.perf_counter()
    await asyncio.gather(*(one(op) for op in ops))
    elapsed = time.perf_counter() - started
    db = check_db(engine)
    return {
        "backend": label,
        "attempts": len(ops),
        "seconds": round(elapsed, 3),
        "rate": len(ops) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "sold": filled,
        "acknowledged_before_commit": early,
        "batches": writer.stats.batches,
        "largest_batch": writer.stats.largest_batch,
        **db,
    }


def _postgres(attempts: list[Attempt]) -> dict[str, Any] | None:
    try:
        import pgserver
    except ImportError:
        return None
    _, _, _, make_engine, init_db = order_writer_parts()
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-pg-") as pgdir:
        server = pgserver.get_server(pgdir, cleanup_mode="stop")
        try:
            url = server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
            engine = make_engine(url)
            init_db(engine)
            result = event_loop.run(
                asyncio.wait_for(writer_burst(engine, attempts, "postgresql"), PG_MAX_SECONDS)
            )
            engine.dispose()
            return result
        except Exception as exc:  # a benchmark of an optional backend must not sink the others
            say(f"flash_sale: PostgreSQL run failed: {exc!r}")
            return {"backend": "postgresql", "error": repr(exc)}
        finally:
            server.cleanup()


def run(quick: bool) -> Result:
    _, _, _, make_engine, init_db = order_writer_parts()
    attempts = make_attempts()
    cap = QUICK_E2E_MAX_SECONDS if quick else E2E_MAX_SECONDS
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-flash-") as tmpdir:
        tmp = Path(tmpdir)
        production_logging(tmp)
        say(f"flash_sale: baseline, plain sqlite3, {len(attempts):,} attempts one transaction each")
        base = baseline_sqlite3(tmp / "baseline.db", attempts)
        say(f"flash_sale: baseline {base['rate']:,.0f} attempts/s, sold {base['sold']:,}")

        say("flash_sale: order writer on SQLite, all attempts in one burst")
        engine = make_engine(f"sqlite:///{tmp / 'writer.db'}")
        init_db(engine)
        writer = event_loop.run(writer_burst(engine, attempts, "sqlite"))
        engine.dispose()
        say(f"flash_sale: writer {writer['rate']:,.0f} attempts/s in {writer['batches']} batches")

        say(f"flash_sale: end to end through the app, one at a time (cap {cap:.0f}s)")
        now = datetime.now(UTC)
        text = campaign_text(now - timedelta(hours=2), now + timedelta(days=1))
        e2e = event_loop.run(end_to_end(tmp / "e2e", attempts, text, cap))
        say(f"flash_sale: end to end again, paced at {GOAL_RATE:,} messages/s")
        paced = event_loop.run(end_to_end(tmp / "e2e-paced", attempts, text, cap, pace=GOAL_RATE))
    pg = None if quick else _postgres(attempts)
    return _row(base, writer, e2e, paced, pg)


def _row(
    base: dict[str, Any],
    writer: dict[str, Any],
    e2e: dict[str, Any],
    paced: dict[str, Any],
    pg: dict[str, Any] | None,
) -> Result:
    total = STOCK_EACH * len(PRODUCTS)
    rate, p99 = e2e["rate"], paced["commit_p99_ms"]
    exact = writer["sold"] == writer["sold_in_db"] == total and writer["left"] == 0
    runs = (e2e, paced)
    safe = all(r["sold_in_db"] + r["left"] == total and r["members_over_limit"] == 0 for r in runs)
    early = writer["acknowledged_before_commit"] + sum(r["acknowledged_before_commit"] for r in runs)
    audited = sum(r["chain_posts_audited"] for r in runs)
    goals = [
        Goal(f"≥ {GOAL_RATE:,} orders/s end to end (got {rate:,.0f})", rate >= GOAL_RATE),
        Goal(
            f"receipt→commit p99 ≤ {GOAL_P99_MS:.0f} ms at {GOAL_RATE:,}/s (got {p99:,.0f} ms)",
            p99 <= GOAL_P99_MS if paced["orders_committed"] else None,
        ),
        Goal(
            f"no oversell (writer sold {writer['sold_in_db']:,}/{total:,}, left {writer['left']}; end to end "
            f"sold {e2e['sold_in_db']:,} + left {e2e['left']:,}, paced {paced['sold_in_db']:,} + "
            f"{paced['left']:,}; over limit "
            f"{writer['members_over_limit'] + sum(r['members_over_limit'] for r in runs)})",
            exact and safe and writer["members_over_limit"] == 0,
        ),
        Goal(
            f"acknowledged only after commit ({early} early; {audited} chain posts audited)",
            early == 0 if audited else None,
        ),
    ]
    figure = (
        f"{rate:,.0f} orders/s end to end one at a time ({e2e['messages']:,} order messages, "
        f"{e2e['orders_committed']:,} orders committed, sold {e2e['sold_in_db']:,}/{total:,}; "
        f"receipt→commit p99 {e2e['commit_p99_ms']:,.0f} ms unpaced); paced at {GOAL_RATE:,}/s: "
        f"receipt→commit p50 {paced['commit_p50_ms']:,.0f} ms p99 {p99:,.0f} ms"
    )
    baseline = (
        f"order writer {writer['rate']:,.0f} attempts/s vs plain sqlite3 {base['rate']:,.0f} "
        f"({writer['rate'] / base['rate']:.0%}; writer p99 {writer['p99_ms']:.0f} ms)"
    )
    if pg and "rate" in pg:
        baseline += f"; PostgreSQL writer {pg['rate']:,.0f}/s"
    notes = []
    if e2e["time_capped"]:
        notes.append(
            f"end to end: {e2e['messages']:,} of {e2e['offered']:,} messages in {e2e['seconds']:.0f}s (time cap)"
        )
    if not audited:
        notes.append("no chain post seen: is the acknowledgement still queued with kind 'chain'?")
    return Result(
        name="flash_sale",
        figure=figure,
        baseline=baseline,
        ratio=rate / base["rate"],
        goals=goals,
        details={"baseline": base, "writer": writer, "end_to_end": e2e, "paced": paced, "postgresql": pg},
        notes=notes,
    )


def main(argv: list[str] | None = None) -> int:
    return cli("flash_sale", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
