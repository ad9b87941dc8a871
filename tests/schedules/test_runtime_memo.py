"""The runtime memoises each campaign's window: asking per chat message costs no database statement
(issue 14), and the memo follows the events that change it (a delay, a reload)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.campaign.active import active_campaigns, campaigns_in_group
from bot.campaign.windows import Windows
from tests.commerce.selling_kit import G1, G2, OPENS, build_shop
from tests.fakes import FakeClock


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_chatter_asking_for_live_campaigns_runs_no_statement_even_after_a_delay(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS + timedelta(minutes=5))
    shop.registry.delay("t1", by="leader", seconds=600)  # effective times now come from the ledger
    [before] = active_campaigns(shop.app.services, G1, clock.now())
    with counting(shop.app.services.repo.engine) as statements:
        for n in range(100):
            group = G1 if n % 2 else G2
            live = active_campaigns(shop.app.services, group, clock.now())
            assert [a.campaign.id for a in live] == ["t1"]
            assert campaigns_in_group(shop.app.services, group)[0].opens_at == before.opens_at
    assert statements == []
    assert before.opens_at == OPENS + timedelta(minutes=10)


async def test_a_delay_is_seen_at_once_and_recomputed_once(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    clock.set(OPENS - timedelta(hours=1))
    registry = shop.registry
    first = campaigns_in_group(shop.app.services, G1)[0]
    computed = registry.windows.recomputed
    for _ in range(50):
        campaigns_in_group(shop.app.services, G1)
    assert registry.windows.recomputed == computed  # not per call
    registry.delay("t1", by="leader", seconds=900)
    moved = campaigns_in_group(shop.app.services, G1)[0]
    assert moved.opens_at == first.opens_at + timedelta(minutes=15)
    assert registry.effective_times("t1")[0] == moved.opens_at
    assert registry.windows.recomputed == computed + 1
    registry.load_file(shop.path)  # a reload starts from the file again (the delay stays)
    assert campaigns_in_group(shop.app.services, G1)[0].opens_at == moved.opens_at
    assert registry.windows.recomputed == computed + 2


def test_group_views_are_bounded() -> None:
    windows = Windows(lambda cid: None, lambda gid: [], max_groups=3)  # type: ignore[arg-type,return-value]
    for n in range(10):
        windows.in_group(f"g{n}")
    assert len(windows._groups) == 3
