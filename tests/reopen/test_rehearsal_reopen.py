"""Acceptance 4 (issue 17): a rehearsal of the sample campaign with a `reopen` node added sells the
remaining stock in the window and never oversells. Orders after the close and before the 返场 are
refused, orders in it are accepted at the 返场 price with their 买赠 gifts, orders after it are
refused, and no product ever sells more than it had."""

from __future__ import annotations

import shutil
from pathlib import Path

from ruamel.yaml import YAML

from bot.app import App
from bot.config import load_config
from bot.rehearsal import rehearsal_config, rehearse
from handlers.selling.figures import figures
from handlers.selling.store import OrderStore
from tests.rehearsal_kit import quiet_copy

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "sample_fixed.yaml"
ORDERS = ROOT / "data" / "scenarios" / "sample_orders.yaml"
REOPEN = """
reopen:
  at: C+1d
  window: 2h
  price: 80%
  buy_get: {buy: 2, get: 1}
  recommend: 草莓配脐橙，酸甜刚好
  recommend_products: [A2]
"""
BUYERS = 60  # enough to clear what the sale left of A1, A2 and A4 within their limits


def scenario(folder: Path) -> Path:
    """The sample's ordering scenario, then a refused order before the 返场, a crowd in it, one after."""
    yaml = YAML()
    steps = list(yaml.load(ORDERS.read_text(encoding="utf-8")))
    crowd = [
        f"r{i:02d}(返场{i})@{'团购一群' if i % 2 else '团购二群'}: {code} {qty}"
        for i in range(BUYERS)
        for code, qty in (("A1", 3), ("A2", 2), ("A4", 2))
    ]
    steps += [
        {"at": "C+20h", "line": "early(小早)@团购一群: A1 1"},
        {"at": "C+1d5m", "line": [*crowd, "ivy(小艾)@团购一群: A3 1"]},
        {"at": "C+1d3h", "line": "late(小迟)@团购二群: A2 1"},
    ]
    target = folder / "reopen_orders.yaml"
    with target.open("w", encoding="utf-8") as out:
        yaml.dump(steps, out)
    return target


async def test_the_sample_with_a_reopen_sells_what_was_left_and_never_oversells(tmp_path: Path) -> None:
    campaign_file = quiet_copy(SAMPLE, tmp_path)
    campaign_file.write_text(campaign_file.read_text(encoding="utf-8") + REOPEN, encoding="utf-8")
    base = load_config(ROOT / "config.yaml")
    result = await rehearse(
        campaign_file,
        base,
        speed=3600,
        scenario=scenario(tmp_path),
        echo=lambda line: None,
        keep_workdir=True,
    )
    try:
        app = App.build(rehearsal_config(base, result.workdir, campaign_file))
        engine = app.services.repo.engine
        store = OrderStore(engine)
        campaign_id = result.campaign.id
        orders = store.orders(campaign_id)
        stock = {line.product_code: line for line in store.stock(campaign_id)}

        for code, line in stock.items():  # never oversold: what the orders hold is what left the stock
            assert line.stock >= 0
            assert sum(o.quantity for o in orders if o.product_code == code) == line.total - line.stock, code
        assert all(line.stock == 0 for line in stock.values()), {c: s.stock for c, s in stock.items()}

        reopen_buyers = {o.member_id for o in orders if o.member_id.startswith("r")}
        assert len(reopen_buyers) >= 40  # accepted in the window
        assert {o.member_id for o in orders}.isdisjoint({"early", "late", "kate"})  # refused outside it
        paid = {(o.product_code, o.unit_price_cents) for o in orders if o.member_id in reopen_buyers}
        assert ("A1", 4792) in paid and ("A2", 3192) in paid and ("A4", 3600) in paid  # 80% of the price
        assert any(price == 0 for _, price in paid)  # 买赠 gifts, at no charge

        found = figures(engine, campaign_id, None)
        reopened = [o for o in orders if o.member_id in reopen_buyers]
        assert found["reopen_units"] + found["reopen_free_units"] == sum(o.quantity for o in reopened)
        assert found["reopen_gmv_cents"] == sum(o.quantity * o.unit_price_cents for o in reopened)
        assert found["reopen_free_units"] > 0 and found["reopen_orders"] > 0

        bot = [
            e
            for e in result.transcript
            if e["sender"] != "" and e["kind"] not in ("member", "member-private")
        ]
        for group in ("团购一群", "团购二群"):
            said = [e["text"] for e in bot if e["group"] == group]
            opened = next(i for i, t in enumerate(said) if "限时返场开始" in t)
            ended = next(i for i, t in enumerate(said) if "限时返场已结束" in t)
            assert opened < ended
            assert "买2赠1" in said[opened] and "草莓配脐橙" in said[opened]
            assert "A3" not in said[opened]  # sold out in the sale: not listed
            if group == "团购二群":
                assert "本次团购已结团" in "\n".join(said[ended:])  # the order after the 返场 is refused
        g1 = [e["text"] for e in bot if e["group"] == "团购一群"]
        before = next(i for i, t in enumerate(g1) if "限时返场开始" in t)
        assert sum("本次团购已结团" in t for t in g1[:before]) >= 2  # kate at C+30m, early at C+20h
        assert result.all_on_time
    finally:
        shutil.rmtree(result.workdir, ignore_errors=True)
