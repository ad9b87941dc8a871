"""/clerk: leaders name clerks by id for a pickup point; the clerk set lives in memory."""

from __future__ import annotations

from pathlib import Path

from handlers.fulfilment.clerks import ClerkBook, clerk_book
from tests.commerce.selling_kit import build_shop
from tests.fakes import FakeClock
from tests.fulfilment.pickup_kit import G1, closed_shop, codes, in_group, private


async def test_leader_adds_lists_and_removes_a_clerk_by_mention(tmp_path: Path, clock: FakeClock) -> None:
    shop = await closed_shop(tmp_path, clock)
    book = clerk_book(shop.app.services)
    await in_group(shop, "/clerk add @阿东 东门", "lily", mentions=("dong",))
    assert "已设为核销员" in shop.texts(G1)[-1] and "东门菜鸟驿站" in shop.texts(G1)[-1]
    assert book.points_of("dong") == {"东门菜鸟驿站"}
    await in_group(shop, "/clerk list", "lily")
    assert "东门菜鸟驿站" in shop.texts(G1)[-1] and "dong" in shop.texts(G1)[-1]
    code = codes(shop)["a"].code
    await in_group(shop, "/clerk remove @阿东", "lily", mentions=("dong",))
    assert "已取消核销员" in shop.texts(G1)[-1] and not book.is_clerk("dong")
    await private(shop, code, "dong")  # no longer a clerk: the bare code is nothing
    assert codes(shop)["a"].picked_at is None


async def test_unknown_or_ambiguous_point_gets_the_list(tmp_path: Path, clock: FakeClock) -> None:
    shop = await closed_shop(tmp_path, clock)
    await in_group(shop, "/clerk add @阿东 北门", "lily", mentions=("dong",))
    reply = shop.texts(G1)[-1]
    assert "没有找到自提点「北门」" in reply and "东门菜鸟驿站、南区便利店" in reply
    await in_group(shop, "/clerk add @阿东 区", "lily", mentions=("dong",))  # 南区 only: taken
    assert "南区便利店" in shop.texts(G1)[-1] and clerk_book(shop.app.services).points_of("dong") == {
        "南区便利店"
    }
    await in_group(shop, "/clerk add @阿东 店", "lily", mentions=("dong",))
    assert "已经是该自提点的核销员" in shop.texts(G1)[-1]  # 店 names the same one point: no change
    await in_group(shop, "/clerk add @阿东", "lily", mentions=("dong",))
    assert "请写上自提点" in shop.texts(G1)[-1]


async def test_ambiguous_point_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    shop.path.write_text(
        shop.path.read_text(encoding="utf-8").replace("南区便利店", "东门便利店"), encoding="utf-8"
    )
    assert not shop.registry.load_file(shop.path)
    await in_group(shop, "/clerk add @阿东 东门", "lily", mentions=("dong",))
    assert "对应多个自提点" in shop.texts(G1)[-1]
    assert not clerk_book(shop.app.services).is_clerk("dong")


async def test_clerk_rights_go_by_id_not_by_name(tmp_path: Path, clock: FakeClock) -> None:
    shop = await closed_shop(tmp_path, clock)
    await in_group(shop, "/clerk add @mallory 东门", "mallory", mentions=("mallory",), name="lily")
    assert not clerk_book(shop.app.services).is_clerk("mallory")
    await in_group(shop, "/clerk add mallory 东门", "a", name="lily")
    assert not clerk_book(shop.app.services).is_clerk("mallory")
    await in_group(shop, "/clerk add dong 东门", "admin")  # a typed id works for an admin
    assert clerk_book(shop.app.services).points_of("dong") == {"东门菜鸟驿站"}


async def test_clerks_are_loaded_at_start_up(tmp_path: Path, clock: FakeClock) -> None:
    shop = await closed_shop(tmp_path, clock)
    await in_group(shop, "/clerk add @阿东 南区", "lily", mentions=("dong",))
    again = build_shop(tmp_path / "again", clock, config=shop.app.services.config)
    book = again.app.services.find(ClerkBook)
    assert book is not None and book.points_of("dong") == {"南区便利店"}


async def test_help_lists_the_clerks_commands_to_clerks_and_leaders_not_to_members(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await closed_shop(tmp_path, clock)
    await in_group(shop, "/clerk add @阿东 东门", "lily", mentions=("dong",))
    member_help = "\n".join(await private(shop, "/help", "a"))
    assert "/help" in member_help and "/pickup" not in member_help  # nothing a member cannot use
    clerk_help = "\n".join(await private(shop, "/help", "dong"))
    assert "/pickup 取货码" in clerk_help and "/pickups" in clerk_help
    leader_help = "\n".join(await private(shop, "/help", "lily"))
    assert "/pickup 取货码" in leader_help
