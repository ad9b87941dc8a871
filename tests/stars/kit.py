"""A sale in two groups with 活跃之星 on, and helpers to speak, mark and decide the week."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from handlers.stars.award import Named
from handlers.stars.jobs import run_weekly
from handlers.stars.tables import MARKS
from tests.commerce.selling_kit import G1, Shop, build_shop, campaign_text
from tests.conftest import make_config
from tests.fakes import FakeClock

# The sale opens Saturday 2026-12-05 20:00 (Shanghai); the default week ends Sunday 20:00.
WEEK_END = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TEXT = campaign_text(a1=100, a2=100, limit=50)
STARS = {"points": 50, "min_score": 5, "weights": {"orders": 3, "showoff": 5, "helpful": 2}}


def shop_with(tmp_path: Path, clock: FakeClock, **stars: Any) -> Shop:
    config = make_config(tmp_path, stars={**STARS, **stars})
    return build_shop(tmp_path, clock, text=TEXT, config=config)


async def say(
    shop: Shop,
    text: str,
    sender: str,
    group: str = G1,
    *,
    name: str | None = None,
    mentions: tuple[str, ...] = (),
) -> Any:
    msg = replace(shop.message(text, sender, group, name), mentions=mentions)
    return await shop.transport.inject(msg)


async def decide(shop: Shop) -> list[Named]:
    named = await run_weekly(shop.app.services)
    await shop.drain()
    return named


def stars_posts(shop: Shop, group: str = G1) -> list[str]:
    return [t for t in shop.texts(group) if t.startswith("🌟 本周活跃之星")]


def marks_of(shop: Shop) -> list[tuple[str, str, str]]:
    """(group, member, leader) of every helpful mark recorded."""
    with shop.app.services.repo.engine.connect() as conn:
        rows = conn.execute(select(MARKS.c.group_id, MARKS.c.member_id, MARKS.c.marked_by)).all()
    return [(r[0], r[1], r[2]) for r in rows]
