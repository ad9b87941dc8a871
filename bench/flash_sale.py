"""Flash sale: 10,000 order attempts in one burst against 2,000 units, beside plain `sqlite3`.

10,000 attempts from 5,000 members in 100 groups, against 5 products of 400
units each with a per-member limit of 2 per product.

* baseline: the same conditional decrement + order insert (with the limit check
  and the group-open check) in plain `sqlite3`, one transaction per attempt;
* the order writer (`bot.commerce.order_writer.OrderWriter` over
  `bot.storage.orders.OrderStore`): every attempt submitted at once, each
  caller's result checked to arrive only after the batch holding it committed;
* end to end: the same attempts as chat messages ("A1 2") through
  `App.handle_event` with the full handler set, delivered one at a time (as
  the wechaty adapter's worker does) and all at once (a task per message);
  time-capped, so a slow path is measured on a sample;
* the order writer again on PostgreSQL when `pgserver` is installed (full run only).

Units sold must equal the stock exactly: zero oversold, zero lost.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    LeanTransport,
    Progress,
    Result,
    bench_config,
    cli,
    feature_modules,
    group_ids,
    group_name,
    percentile,
    production_logging,
    say,
    tagged_groups,
)
from bot.events import GroupMessage, Member

N_ATTEMPTS = 10_000
N_MEMBERS = 5_000
N_GROUPS = 100
PRODUCTS = ("A1", "A2", "A3", "A4", "A5")
STOCK_EACH = 400
LIMIT = 2
CAMPAIGN_ID = "flash"
E2E_MAX_SECONDS = 20.0
QUICK_E2E_MAX_SECONDS = 8.0
PG_MAX_SECONDS = 60.0
GOAL_RATIO = 0.5


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
    from bot.campaign import parse_campaign

    return parse_campaign(campaign_text(now - timedelta(hours=2), now + timedelta(days=1)), "flash.yaml")


def _check_db(engine: Any) -> dict[str, Any]:
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
    from bot.commerce.order_writer import OrderWriter
    from bot.storage.orders import OrderStore, PlaceOrder

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

    store.apply = apply  # type: ignore[method-assign]
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
    db = _check_db(engine)
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


# -- end to end through the app ------------------------------------------------------------
async def end_to_end(
    tmp: Path, attempts: list[Attempt], *, concurrent: bool, max_seconds: float
) -> dict[str, Any]:
    """The attempts as chat messages through `App.handle_event` with the full handler set."""
    from bot.app import App
    from bot.clock import SystemClock
    from bot.startup import install_features

    ids = group_ids(N_GROUPS)
    now = datetime.now(UTC)
    campaigns = tmp / "campaigns"
    campaigns.mkdir(parents=True, exist_ok=True)
    (campaigns / "flash.yaml").write_text(
        campaign_text(now - timedelta(hours=2), now + timedelta(days=1)), encoding="utf-8"
    )
    config = bench_config(tmp, groups=tagged_groups(ids, lambda i: "flash"))
    clock = SystemClock()
    app = App.build(config, clock=clock, features=feature_modules())
    registry = install_features(app, persistent_jobs=True, watch=False)
    transport = LeanTransport(clock.now)
    app.transport = transport  # type: ignore[assignment]
    app.services.outbox.attach(transport)  # type: ignore[arg-type]
    for hook in app.startup_hooks:
        await hook(app)
    sender = asyncio.create_task(app.services.outbox.run(), name="outbox")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(o.node_id == "open" for o in registry.outcomes):
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    messages = [
        GroupMessage(
            message_id=f"fs{'c' if concurrent else 's'}{n:06d}",
            group_id=ids[a.group],
            sender=Member(member_id(a.member), f"团员{a.member}"),
            text=f"{a.code} {a.qty}" if n % 3 else f"接龙 {a.code} {a.qty}",
            time=clock.now(),
            group_name=group_name(a.group),
        )
        for n, a in enumerate(attempts)
    ]
    latencies: list[float] = []
    label = "concurrent" if concurrent else "one at a time"
    progress = Progress(f"flash_sale end to end ({label})", len(messages), unit="msg")
    started = time.perf_counter()
    stop_at = started + max_seconds
    capped = False
    if concurrent:

        async def one(event: GroupMessage) -> None:
            if time.perf_counter() > stop_at:
                return
            await app.handle_event(event)
            latencies.append(time.perf_counter() - started)
            progress.tick(len(latencies))

        await asyncio.gather(*(one(m) for m in messages))
        capped = len(latencies) < len(messages)
    else:
        for event in messages:
            if time.perf_counter() > stop_at:
                capped = True
                break
            receipt = time.perf_counter()
            await app.handle_event(event)
            latencies.append(time.perf_counter() - receipt)
            progress.tick(len(latencies))
            await asyncio.sleep(0)
    elapsed = time.perf_counter() - started
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sender
    for hook in app.shutdown_hooks:
        await hook(app)
    db = _check_db(app.services.repo.engine)
    app.services.repo.engine.dispose()
    return {
        "delivery": label,
        "messages": len(latencies),
        "offered": len(messages),
        "time_capped": capped,
        "seconds": round(elapsed, 2),
        "rate": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        **db,
    }


def _postgres(attempts: list[Attempt]) -> dict[str, Any] | None:
    try:
        import pgserver
    except ImportError:
        return None
    from bot.storage.engine import init_db, make_engine

    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-pg-") as pgdir:
        server = pgserver.get_server(pgdir, cleanup_mode="stop")
        try:
            url = server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
            engine = make_engine(url)
            init_db(engine)
            result = asyncio.run(
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
    try:
        import bot.commerce.order_writer
        import bot.storage.orders  # noqa: F401
    except ImportError:
        return _pending(quick)
    from bot.storage.engine import init_db, make_engine

    attempts = make_attempts()
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-flash-") as tmpdir:
        tmp = Path(tmpdir)
        production_logging(tmp)
        say(f"flash_sale: baseline, plain sqlite3, {len(attempts):,} attempts one transaction each")
        base = baseline_sqlite3(tmp / "baseline.db", attempts)
        say(f"flash_sale: baseline {base['rate']:,.0f} attempts/s, sold {base['sold']:,}")

        say("flash_sale: order writer on SQLite, all attempts in one burst")
        engine = make_engine(f"sqlite:///{tmp / 'writer.db'}")
        init_db(engine)
        writer = asyncio.run(writer_burst(engine, attempts, "sqlite"))
        engine.dispose()
        say(
            f"flash_sale: writer {writer['rate']:,.0f} attempts/s in {writer['batches']} batches, "
            f"sold {writer['sold']:,}, p99 {writer['p99_ms']:.0f} ms"
        )

        cap = QUICK_E2E_MAX_SECONDS if quick else E2E_MAX_SECONDS
        e2e = []
        for concurrent in (False, True):
            sub = tmp / ("e2e-concurrent" if concurrent else "e2e-serial")
            say(
                f"flash_sale: end to end through App.handle_event, {'concurrent' if concurrent else 'one at a time'}"
            )
            e2e.append(asyncio.run(end_to_end(sub, attempts, concurrent=concurrent, max_seconds=cap)))
            say(
                f"flash_sale: end to end {e2e[-1]['rate']:,.0f} msg/s ({e2e[-1]['messages']:,} msgs), "
                f"sold {e2e[-1]['sold_in_db']:,}"
            )
    pg = None if quick else _postgres(attempts)

    total = STOCK_EACH * len(PRODUCTS)
    exact = writer["sold"] == writer["sold_in_db"] == total and writer["left"] == 0
    limits = writer["members_over_limit"] == 0 and all(e["members_over_limit"] == 0 for e in e2e)
    e2e_safe = all(e["sold_in_db"] + e["left"] == total for e in e2e)
    ratio = writer["rate"] / base["rate"]
    goals = [
        Goal(f"≥ {GOAL_RATIO:.0%} of plain sqlite3 (got {ratio:.0%})", ratio >= GOAL_RATIO),
        Goal(
            f"acknowledged only after commit ({writer['acknowledged_before_commit']} early)",
            writer["acknowledged_before_commit"] == 0,
        ),
        Goal(
            f"sold = stock exactly ({writer['sold_in_db']:,}/{total:,}, left {writer['left']}, "
            f"over limit {writer['members_over_limit']})",
            exact and limits and e2e_safe,
        ),
    ]
    serial, conc = e2e
    figure = (
        f"order writer {writer['rate']:,.0f} attempts/s, receipt→commit p50 {writer['p50_ms']:.0f} ms "
        f"p99 {writer['p99_ms']:.0f} ms, sold {writer['sold_in_db']:,}/{total:,}; end to end "
        f"{serial['rate']:,.0f} msg/s one at a time, {conc['rate']:,.0f} msg/s concurrent"
    )
    if pg and "rate" in pg:
        figure += f"; PostgreSQL writer {pg['rate']:,.0f}/s"
    notes = [
        f"end to end ({e['delivery']}): {e['messages']:,} of {e['offered']:,} messages in {e['seconds']:.0f}s "
        f"(time cap {cap:.0f}s)"
        for e in e2e
        if e["time_capped"]
    ]
    return Result(
        name="flash_sale",
        figure=figure,
        baseline=f"plain sqlite3 {base['rate']:,.0f} attempts/s (p99 {base['p99_ms']:.0f} ms, sold {base['sold']:,})",
        ratio=ratio,
        goals=goals,
        details={"baseline": base, "writer": writer, "end_to_end": e2e, "postgresql": pg},
        notes=notes,
    )


def _pending(quick: bool) -> Result:
    """The order writer is not there yet: measure only the plain-sqlite3 half."""
    attempts = make_attempts()
    with tempfile.TemporaryDirectory(prefix="tuanbot-bench-flash-") as tmpdir:
        base = baseline_sqlite3(Path(tmpdir) / "baseline.db", attempts)
    say("flash_sale: pending order writer")
    return Result(
        name="flash_sale",
        figure="pending order writer",
        baseline=f"plain sqlite3 {base['rate']:,.0f} attempts/s",
        ratio=None,
        goals=[Goal("≥ 50% of plain sqlite3", None)],
        details={"baseline": base},
    )


def main(argv: list[str] | None = None) -> int:
    return cli("flash_sale", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
