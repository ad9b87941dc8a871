"""config.yaml's `tiers:`: tiers lowest first, each reached by spend OR sales within its days,
perks bounded, every mistake reported with its key; the shipped config.yaml declares a valid VIP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_config, parse_config
from bot.config_tiers import MAX_DISCOUNT_PERCENT

REPO = Path(__file__).resolve().parents[2]
VIP: dict[str, Any] = {"name": "VIP", "spend_yuan": 500, "orders": 5}


def config_error(tiers: object) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config({"admins": ["admin"], "tiers": tiers})
    return str(error.value)


def test_defaults_declare_no_tier_and_a_valid_block_reads_back() -> None:
    default = parse_config({"admins": ["admin"]}).tiers
    assert (default.enabled, default.base, default.levels, default.active) == (True, "普通", [], False)
    tiers = parse_config(
        {
            "admins": ["admin"],
            "tiers": {"levels": [{"name": "银卡", "orders": 2, "days": 30}, {**VIP, "discount_percent": 5}]},
        }
    ).tiers
    silver, vip = tiers.levels
    assert (silver.spend_cents, silver.orders, silver.days, silver.extra_limit) == (None, 2, 30, 0)
    assert (vip.spend_cents, vip.orders, vip.days, vip.discount_percent) == (50_000, 5, 90, 5)
    assert tiers.active


@pytest.mark.parametrize(
    ("tiers", "fragment"),
    [
        ({"levels": [{"name": "VIP"}]}, "tiers.levels.0: tier 'VIP' needs spend_yuan, orders or invites"),
        (
            {"levels": [{**VIP, "discount_percent": 60}]},
            "tiers.levels.0.discount_percent: Input should be less",
        ),
        ({"levels": [{**VIP, "early_minutes": -5}]}, "tiers.levels.0.early_minutes: Input should be greater"),
        ({"levels": [{**VIP, "extra_limit": 5000}]}, "tiers.levels.0.extra_limit"),
        ({"levels": [{**VIP, "days": 0}]}, "tiers.levels.0.days"),
        ({"levels": [{**VIP, "spend_yuan": 0}]}, "tiers.levels.0.spend_yuan"),
        ({"levels": [{**VIP, "orders": 0}]}, "tiers.levels.0.orders"),
        ({"levels": [{**VIP, "name": ""}]}, "tiers.levels.0.name"),
        ({"levels": [{**VIP, "discount": 5}]}, "tiers.levels.0.discount: unknown key"),
        ({"levels": [VIP, {**VIP, "orders": 9}]}, "each tier needs its own name"),
        ({"levels": [{**VIP, "name": "普通"}]}, "none may be the base '普通' (twice: 普通)"),
        ({"level": [VIP]}, "tiers.level: unknown key; did you mean 'levels'?"),
    ],
)
def test_mistakes_name_the_key(tiers: dict[str, Any], fragment: str) -> None:
    assert fragment in config_error(tiers)


def test_the_discount_bound_is_what_the_docs_say() -> None:
    doc = (REPO / "docs" / "growth.md").read_text(encoding="utf-8")
    assert f"| `discount_percent` | 0 to {MAX_DISCOUNT_PERCENT} |" in doc


def test_the_shipped_config_declares_a_vip_tier() -> None:
    tiers = load_config(REPO / "config.yaml").tiers
    assert tiers.active and tiers.base == "普通"
    vip = tiers.levels[-1]
    assert (vip.name, vip.spend_cents, vip.orders, vip.days) == ("VIP", 50_000, 5, 90)
    assert vip.early_minutes > 0 and vip.extra_limit > 0 and vip.discount_percent > 0
