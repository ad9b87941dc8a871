"""我的订单 from a member who has not ordered reads their orders and nothing else.

Most 我的订单 in a busy group come from members who have not ordered yet (45 % of them in the
routing benchmark's corpus), and the answer shows no price, no pickup point and no payment line:
pricing the empty order read the coupon wallet, the points purse and the pickup point for nothing,
about 1.6 ms of CPU each on a busy machine."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from tests.commerce.selling_kit import G1, build_shop
from tests.fakes import FakeClock


async def test_a_member_without_orders_gets_the_nothing_yet_answer_from_one_read(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2", "alice", name="王阿姨")
    await shop.say("自提 东门菜鸟驿站", "alice", name="王阿姨")
    await shop.drain()
    reads: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    event.listen(shop.app.services.repo.engine, "before_cursor_execute", record)
    await shop.say("我的订单", "bob", name="李叔")
    await shop.drain()
    assert "李叔，你还没有接龙哦。发「商品编号 数量」即可下单。" in shop.texts(G1)[-1]
    assert len(reads) == 1 and "FROM orders" in reads[0], reads
    reads.clear()
    await shop.say("我的订单", "alice", name="王阿姨")
    await shop.drain()
    answer = shop.texts(G1)[-1]
    assert "丹东草莓×2" in answer and "自提点：东门菜鸟驿站" in answer  # one who ordered: as before
    assert len(reads) > 1
