"""The flash sale end to end: order messages through the app's inbound path, one at a time.

Messages are delivered as the wechaty adapter delivers them (await each, yield
between). Nothing is taken from the app's word: a watcher thread reads the
`orders` table through its own connection every few milliseconds, so an order
counts, and its receipt → commit time ends, only when its row is committed.
A chain post (the acknowledgement the group sees) is audited when it is queued:
every member it names must already have a committed order in that group.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from bench.common import (
    Bot,
    Post,
    Progress,
    bench_config,
    group_ids,
    group_name,
    percentile,
    read_db,
    say,
    start_bot,
    stop_bot,
    tagged_groups,
    wait_campaigns_settled,
)
from bot.events import GroupMessage, Member

POLL_SECONDS = 0.004
SETTLE_MAX_SECONDS = 30.0  # the writer's patience after the last message (a warning, not a hang)
AUDIT_EVERY = 4  # audit one chain post in this many (each audit is one indexed query on the loop)
NAME_RE = re.compile(r"团员(\d+)")


class OrderWatch(threading.Thread):
    """Records when each order row first becomes visible to another connection (its commit, ±4 ms)."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(name="bench-order-watch", daemon=True)
        self.db_path = db_path
        self.rows: list[tuple[float, str, str]] = []  # seen at (perf_counter), member id, product code
        self._halt = threading.Event()

    def run(self) -> None:
        db = read_db(self.db_path)
        last_id = 0
        while not self._halt.is_set():
            found = db.execute(
                "SELECT id, member_id, product_code FROM orders WHERE id > ? ORDER BY id", (last_id,)
            ).fetchall()
            seen = time.perf_counter()
            for row_id, member, code in found:
                self.rows.append((seen, member, code))
                last_id = row_id
            self._halt.wait(POLL_SECONDS)
        db.close()

    def stop(self) -> None:
        self._halt.set()
        self.join()


class AckAudit:
    """Checks chain posts as they are queued: no member is named before their order is committed."""

    def __init__(self, db_path: Path) -> None:
        self.db = read_db(db_path)
        self.seen = 0
        self.audited = 0
        self.early: list[str] = []

    def __call__(self, posts: list[Post]) -> None:
        for post in posts:
            if post.kind != "chain":
                continue
            self.seen += 1
            if self.seen % AUDIT_EVERY:
                continue
            named = {f"团员{n}" for n in NAME_RE.findall(post.text)}
            committed = {
                name
                for (name,) in self.db.execute(
                    "SELECT DISTINCT member_name FROM orders WHERE group_id = ? AND status = 'active'",
                    (post.group_id,),
                )
            }
            self.audited += 1
            self.early += sorted(named - committed)


def committed_rows(db_path: Path) -> int:
    """Order rows committed so far, read through a separate connection."""
    db = read_db(db_path)
    try:
        return int(db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])
    finally:
        db.close()


def commit_latencies(
    receipts: dict[tuple[str, str], deque[float]], rows: list[tuple[float, str, str]]
) -> list[float]:
    """Receipt → commit per order row, matching each row to the earliest unmatched attempt of its
    member and product (an upper bound when an earlier attempt was refused)."""
    latencies = []
    for seen, member, code in rows:
        queue = receipts.get((member, code))
        if queue:
            latencies.append(seen - queue.popleft())
    return latencies


async def end_to_end(
    tmp: Path, attempts: list[Any], campaign: str, max_seconds: float, pace: float | None = None
) -> dict[str, Any]:
    """The attempts as chat messages ("A1 2", "接龙 A1 2") through the app, one at a time: as fast
    as the loop takes them, or `pace` messages a second (message n is due n / pace seconds after
    the first; receipt is its due time when the loop is late, as `bench.chat.paced` counts it,
    so a loop that falls behind is not hidden)."""
    from bench.flash_sale import N_GROUPS, check_db, member_id

    ids = group_ids(N_GROUPS)
    (tmp / "campaigns").mkdir(parents=True, exist_ok=True)
    (tmp / "campaigns" / "flash.yaml").write_text(campaign, encoding="utf-8")
    bot: Bot = await start_bot(bench_config(tmp, groups=tagged_groups(ids, lambda i: "flash")))
    await wait_campaigns_settled(bot)
    now = datetime.now(UTC)
    messages = [
        GroupMessage(
            message_id=f"fs{n:06d}",
            group_id=ids[a.group],
            sender=Member(member_id(a.member), f"团员{a.member}"),
            text=f"{a.code} {a.qty}" if n % 3 else f"接龙 {a.code} {a.qty}",
            time=now + timedelta(microseconds=n),
            group_name=group_name(a.group),
        )
        for n, a in enumerate(attempts)
    ]
    audit = AckAudit(bot.db_path)
    bot.tap.listeners.append(audit)
    watch = OrderWatch(bot.db_path)
    watch.start()
    receipts: dict[tuple[str, str], deque[float]] = defaultdict(deque)
    progress = Progress("flash_sale end to end", len(messages), unit="msg")
    started = time.perf_counter()
    stop_at = started + max_seconds
    handled = 0
    for n, (event, a) in enumerate(zip(messages, attempts, strict=True)):
        if time.perf_counter() > stop_at:
            break
        if pace is not None:
            due = started + n / pace
            if due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
        receipt = time.perf_counter()
        if pace is not None:
            receipt = min(receipt, due)  # late: the wait for the loop counts too
        receipts[(event.sender.id, a.code)].append(receipt)
        await bot.deliver(event, receipt)
        handled += 1
        progress.tick(handled, f"({len(watch.rows):,} orders committed)")
        await asyncio.sleep(0)
    loop_end = time.perf_counter()
    # Every order handed to the writer is committed before the clock stops, and the watcher has
    # seen every row: a quiet spell alone ended the run while a starved writer still held most
    # orders, which then committed unmeasured during shutdown.
    try:
        await asyncio.wait_for(bot.app.settle(), SETTLE_MAX_SECONDS)
    except TimeoutError:
        say(f"flash_sale: warning: orders still uncommitted {SETTLE_MAX_SECONDS:.0f}s after the last message")
    committed = committed_rows(bot.db_path)
    while len(watch.rows) < committed and time.perf_counter() - loop_end < SETTLE_MAX_SECONDS:
        await asyncio.sleep(POLL_SECONDS)
    watch.stop()
    end = max(loop_end, watch.rows[-1][0] if watch.rows else loop_end)
    await stop_bot(bot)
    audit.db.close()
    engine = create_engine(f"sqlite:///{bot.db_path}")
    db = check_db(engine)
    engine.dispose()
    latencies = commit_latencies(receipts, watch.rows)
    elapsed = end - started
    say(f"flash_sale: end to end {handled:,} msgs, {len(watch.rows):,} orders committed in {elapsed:.1f}s")
    return {
        "delivery": "one at a time" + (f", paced at {pace:,.0f}/s" if pace else ", unpaced"),
        "pace": pace,
        "messages": handled,
        "offered": len(messages),
        "time_capped": handled < len(messages),
        "seconds": elapsed,
        "settle_seconds": end - loop_end,
        "rate": handled / elapsed if elapsed else 0.0,
        "orders_committed": len(watch.rows),
        "commit_p50_ms": percentile(latencies, 50) * 1000,
        "commit_p99_ms": percentile(latencies, 99) * 1000,
        "commit_max_ms": max(latencies, default=0.0) * 1000,
        "chain_posts": audit.seen,
        "chain_posts_audited": audit.audited,
        "acknowledged_before_commit": len(audit.early),
        "early_examples": audit.early[:5],
        **db,
    }
