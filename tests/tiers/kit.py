"""A shop whose config declares two tiers, and an earlier sale (t0) to build a history with."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.commerce.selling_kit import CLOSES, OPENS, Shop, build_shop, campaign_text
from tests.conftest import make_config
from tests.fakes import FakeClock

SILVER = {"name": "银卡", "spend_yuan": 30, "days": 90, "extra_limit": 1}
VIP = {
    "name": "VIP",
    "spend_yuan": 100,
    "orders": 2,
    "days": 90,
    "early_minutes": 30,
    "extra_limit": 2,
    "discount_percent": 5,
}
TIERS: dict[str, Any] = {"levels": [SILVER, VIP]}
EARLIER = timedelta(days=7)  # t0 runs a week before t1
T0_OPENS, T0_CLOSES = OPENS - EARLIER, CLOSES - EARLIER


def tier_shop(
    tmp_path: Path,
    clock: FakeClock,
    *,
    tiers: dict[str, Any] | None = None,
    db_url: str | None = None,
    **kw: Any,
) -> Shop:
    config = make_config(tmp_path, db_url=db_url, tiers=TIERS if tiers is None else tiers)
    return build_shop(tmp_path, clock, config=config, **kw)


def add_earlier_sale(shop: Shop, tmp_path: Path) -> None:
    """Load t0: the same products, a week before t1."""
    text = (
        campaign_text()
        .replace("id: t1", "id: t0")
        .replace("2026-12-05 20:00", "2026-11-28 20:00")
        .replace("2026-12-05 22:00", "2026-11-28 22:00")
    )
    path = tmp_path / "campaigns" / "t0.yaml"
    path.write_text(text, encoding="utf-8")
    problems = shop.registry.load_file(path)
    assert not problems, problems


async def run_sale(shop: Shop, campaign_id: str, orders: list[tuple[str, str, str]]) -> None:
    """Open `campaign_id`, place (member, text, group) orders, close it and send everything."""
    opens, closes = (T0_OPENS, T0_CLOSES) if campaign_id == "t0" else (OPENS, CLOSES)
    shop.clock.set(opens)
    await shop.registry.run_node(campaign_id, "open")
    for member, text, group in orders:
        await shop.say(text, member, group)
    shop.clock.set(closes)
    await shop.registry.run_node(campaign_id, "close")
    await shop.drain()
