"""One money format everywhere (issue 13.3): ¥ and two decimals, from one `money` template filter."""

from __future__ import annotations

import re

from bot.templates import DEFAULT_TEMPLATE_DIR, Renderer, money


def test_money_always_has_two_decimals() -> None:
    assert [money(c) for c in (267500, 77260, 800, 5, 0)] == [
        "¥2675.00",
        "¥772.60",
        "¥8.00",
        "¥0.05",
        "¥0.00",
    ]
    assert money(8.88 * 100) == "¥8.88"  # a template's yuan * 100 is rounded to the fen


def test_every_template_formats_money_with_the_money_filter() -> None:
    raw = re.compile(r"¥\s*\{\{|\|\s*yuan\b")  # a bare "¥{{ x }}" or the old filter
    offenders = [
        str(path.relative_to(DEFAULT_TEMPLATE_DIR))
        for path in DEFAULT_TEMPLATE_DIR.rglob("*.j2")
        if raw.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_prices_and_coupon_terms_render_alike() -> None:
    renderer = Renderer()
    terms = renderer.render("coupons/_terms.j2", min_spend_cents=5000, amount_cents=800, product_names=[])
    assert terms == "满¥50.00减¥8.00"
    burst = {"packets": 20, "budget": "50.00", "window_seconds": 60, "keyword": "抢"}
    assert "总额 ¥50.00" in renderer.render_string(
        "总额 {{ ((params.budget | float) * 100) | money }}", params=burst
    )


def test_a_rain_of_ninety_seconds_is_not_announced_as_one_minute() -> None:
    """The sample's T-5m rain has `window: 90s`; its post said 1分钟 (session 38's second walk)."""
    renderer = Renderer()
    burst = {"packets": 20, "budget": "50.00", "keyword": "抢"}
    assert "90秒内" in renderer.render("campaign/redpacket.j2", params={**burst, "window_seconds": 90})
    assert "2分钟内" in renderer.render("campaign/redpacket.j2", params={**burst, "window_seconds": 120})
    assert "45秒内" in renderer.render("campaign/redpacket.j2", params={**burst, "window_seconds": 45})
