"""The 分拣单 and 提货单: totals equal the orders in the database, CSV and printable HTML are
written (HTML escaped), remarks and codes appear in the 提货单, they reach the leader only."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from collections import Counter
from pathlib import Path

from handlers.fulfilment.codes import codes_for
from handlers.fulfilment.dues import campaign_dues, campaign_net
from handlers.fulfilment.lists import NO_POINT, build_lists
from handlers.fulfilment.lists_chat import make_lists
from tests.commerce.selling_kit import Shop, build_shop
from tests.factories import private_message
from tests.fakes import FakeClock
from tests.fulfilment.payment_kit import G1, G2, campaign, close, orders, shop_for

REPO = Path(__file__).resolve().parents[2]


async def closed_shop(tmp_path: Path, clock: FakeClock) -> Shop:
    shop = shop_for(tmp_path, clock)
    await orders(shop)
    await shop.say("自提点 东门菜鸟驿站", "bob", name="李叔")
    await shop.say("A1 1", "dave", name="赵姐")
    shop.sell.store.set_remark("t1", "alice", "3栋502 电话13800138000", clock.now())
    await close(shop)
    return shop


def paths_in(text: str) -> list[str]:
    return [line.removeprefix("· ").strip() for line in text.splitlines() if line.startswith("· ")]


async def test_lists_totals_equal_the_orders_in_the_database(tmp_path: Path, clock: FakeClock) -> None:
    shop = await closed_shop(tmp_path, clock)
    services, camp = shop.app.services, campaign(shop)
    lists = build_lists(services, camp)
    in_db = Counter[str]()
    for order in shop.sell.store.orders("t1"):
        in_db[order.product_code] += order.quantity
    sorted_units = Counter[str]()
    for point in lists.points:
        for product in point.products:
            assert product.total == sum(line.quantity for line in product.members)
            sorted_units[product.code] += product.total
    assert sorted_units == in_db and lists.units == sum(in_db.values())
    picked_units = sum(entry.quantity for point in lists.points for entry in point.entries)
    assert picked_units == sum(in_db.values())
    dues = campaign_dues(services, camp)
    assert {e.member_id: e.net_cents for p in lists.points for e in p.entries} == {
        m: d.quote.total_cents for m, d in dues.items()
    }
    assert lists.net_cents == campaign_net(services, camp) == 900 + 2550 + 2500 + 1000
    points = {p.point: {e.member_id for e in p.entries} for p in lists.points}
    assert points == {"东门菜鸟驿站": {"bob"}, NO_POINT: {"alice", "carol", "dave"}}
    codes = codes_for(services.repo.engine, "t1")
    entries = {e.member_id: e for p in lists.points for e in p.entries}
    assert entries["alice"].remark == "3栋502 电话13800138000"
    if codes:  # the pickup half issues codes at close
        assert {m: e.code for m, e in entries.items()} == {m: c.code for m, c in codes.items()}


async def test_close_writes_csv_and_html_and_tells_each_leader_privately(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await closed_shop(tmp_path, clock)
    [ready] = [t for t in shop.transport.private_texts("lily") if "分拣单和提货单已生成" in t]
    files = [tmp_path / p for p in paths_in(ready)]
    assert "\n".join(f"· {p}" for p in paths_in(ready)) in ready  # one file a line, no blank between
    assert sorted(f.suffix for f in files) == [".csv", ".csv", ".html", ".html"]
    assert all(f.is_file() for f in files)
    pickup_csv = next(f for f in files if f.name.endswith("-pickup.csv"))
    raw = pickup_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # utf-8-sig: Excel reads the Chinese
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {r["成员ID"] for r in rows} == {"alice", "bob", "dave"}  # lily's group only
    alice = next(r for r in rows if r["成员ID"] == "alice")
    assert alice["备注"] == "3栋502 电话13800138000" and alice["应付"] == "9.00" and alice["付款"] == "未付"
    codes = codes_for(shop.app.services.repo.engine, "t1")
    if "alice" in codes:
        assert alice["取货码"] == codes["alice"].code
        html = next(f for f in files if f.name.endswith("-pickup.html")).read_text(encoding="utf-8")
        assert codes["alice"].code in html and "3栋502" in html and "@page" in html and "A4" in html
    sorting = next(f for f in files if f.name.endswith("-sorting.csv")).read_text(encoding="utf-8-sig")
    assert sum(int(r["数量"]) for r in csv.DictReader(io.StringIO(sorting))) == 2 + 2 + 1
    [mike] = [t for t in shop.transport.private_texts("mike") if "分拣单和提货单已生成" in t]
    mike_html = next(tmp_path / p for p in paths_in(mike) if p.endswith("-pickup.html")).read_text(
        encoding="utf-8"
    )
    assert "<script>" not in mike_html and "&lt;script&gt;" in mike_html  # carol's name, escaped
    for message in shop.transport.sent:  # no path, remark or amount per member in a group
        if message.group_id:
            assert "exports" not in message.text and "3栋502" not in message.text


async def test_lists_command_in_group_and_privately(tmp_path: Path, clock: FakeClock) -> None:
    shop = await closed_shop(tmp_path, clock)
    shop.transport.clear()
    await shop.say("/lists", "lily")
    assert shop.texts(G1) == ["📦 分拣单和提货单已私信发给你。"]
    [ready] = shop.transport.private_texts("lily")
    assert "团购一群：3 人，5 件" in ready and len(paths_in(ready)) == 4
    await shop.transport.inject(private_message("/lists", "admin", at=clock.now()))
    [everything] = shop.transport.private_texts("admin")
    assert "全部群：4 人，8 件" in everything
    await shop.transport.inject(private_message("/lists t1", "mike", at=clock.now()))
    assert "团购二群：1 人，3 件" in shop.transport.private_texts("mike")[-1]
    await shop.say("/lists", "bob")
    assert "仅限团长使用" in shop.texts(G1)[-1] and shop.transport.private_texts("bob") == []
    await shop.transport.inject(private_message("/lists nope", "lily", at=clock.now()))
    assert "没有活动 nope" in shop.transport.private_texts("lily")[-1]
    assert G2 not in ready


async def test_html_escapes_member_text(tmp_path: Path, clock: FakeClock) -> None:
    shop = await closed_shop(tmp_path, clock)
    shop.sell.store.set_remark("t1", "carol", "<b>门口</b>", clock.now())
    _, paths = make_lists(shop.app.services, campaign(shop), None, tmp_path / "out")
    for path in paths:
        if path.suffix == ".html":
            page = path.read_text(encoding="utf-8")
            assert "<script>" not in page and "<b>" not in page
            assert "&lt;script&gt;" in page


# ------------------------------------------------------------------------------------ the CLI
def tuanbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(cwd)},
    )


async def test_cli_lists_writes_files_and_fails_clearly_on_unknown_campaign(
    tmp_path: Path, clock: FakeClock
) -> None:
    await closed_shop(tmp_path, clock)
    config = tmp_path / "config.yaml"
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("sqlite:///data/tuanbot.db", f"sqlite:///{tmp_path}/tuanbot.db")
    text = text.replace("campaigns_dir: data/campaigns", f"campaigns_dir: {tmp_path / 'campaigns'}")
    config.write_text(text, encoding="utf-8")
    out = tmp_path / "lists"
    proc = tuanbot("lists", "t1", "--config", str(config), "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "合计" in proc.stdout and "东门菜鸟驿站" in proc.stdout and "¥69.50" in proc.stdout
    assert len(list(out.glob("t1-all-*"))) == 4
    one = tuanbot("lists", "t1", "-g", "团购二群", "--config", str(config), "--out", str(out), cwd=tmp_path)
    assert one.returncode == 0 and "¥25.00" in one.stdout
    missing = tuanbot("lists", "nope", "--config", str(config), cwd=tmp_path)
    assert missing.returncode == 1 and "no campaign 'nope'" in missing.stderr
    bad_group = tuanbot("lists", "t1", "--group", "别的群", "--config", str(config), cwd=tmp_path)
    assert bad_group.returncode == 1 and "does not run in group" in bad_group.stderr
    help_text = tuanbot("lists", "--help", cwd=tmp_path)
    assert help_text.returncode == 0 and "--out" in help_text.stdout


async def test_settle_returns_once_every_list_is_written_before_their_callbacks_ran() -> None:
    """A finished writing task stays in `tasks` until its done-callback runs on the next loop turn.
    Python 3.12's `gather` of finished tasks returns without a loop turn, so waiting for the set
    to empty spun forever (a shutdown that never ended); only unfinished tasks are waited for."""
    from unittest.mock import MagicMock

    from handlers.fulfilment.lists_chat import ListDelivery

    delivery = ListDelivery(MagicMock())
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    finished.set_result(None)
    delivery.tasks.add(finished)  # type: ignore[arg-type]  # done, its discard not run yet
    await asyncio.wait_for(delivery.settle(), 1)


async def test_lists_with_no_orders_does_not_say_they_were_sent(tmp_path: Path, clock: FakeClock) -> None:
    """The group heard 已私信发给你 while the leader was told privately there was nothing (session 38)."""
    shop = build_shop(tmp_path, clock)
    await shop.open()
    shop.transport.clear()
    await shop.say("/lists", "lily")
    assert shop.texts(G1) == ["📦 还没有订单，没有生成分拣单和提货单。"]
    assert "还没有订单" in shop.transport.private_texts("lily")[-1]
