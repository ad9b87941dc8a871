"""`/poster`: leaders for their own group, admins for any, by member id; usage on bad input."""

from __future__ import annotations

from pathlib import Path

from handlers.poster.files import posters_dir
from tests.commerce.selling_kit import G1, G2, Shop, build_shop
from tests.fakes import FakeClock


async def _selling(tmp_path: Path, clock: FakeClock) -> Shop:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2", "alice")
    await shop.say("A2 1", "bob", group=G2)
    shop.transport.clear()
    return shop


async def test_a_leader_gets_the_poster_in_their_group_and_an_admin_in_any(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await _selling(tmp_path, clock)
    await shop.say("/poster", "lily")  # lily leads 团购一群
    [path] = shop.transport.images(G1)
    assert path.parent == posters_dir(shop.app.services.config) and path.read_bytes().startswith(b"\x89PNG")
    await shop.say("/海报", "admin", group=G2)  # the alias; an admin anywhere
    assert len(shop.transport.images(G2)) == 1
    await shop.say("/poster t1", "mike", group=G2)  # by campaign id
    assert len(shop.transport.images(G2)) == 2


async def test_permission_is_by_id_a_renamed_member_or_another_groups_leader_gets_nothing(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await _selling(tmp_path, clock)
    await shop.say("/poster", "eve", name="lily")  # eve calls herself lily
    await shop.say("/poster", "mike")  # mike leads 团购二群, not 团购一群
    assert shop.transport.images() == []
    refusals = shop.texts(G1)
    assert len(refusals) == 2 and all("仅限团长使用" in t for t in refusals)


async def test_bad_input_gets_the_usage_line_and_no_poster(tmp_path: Path, clock: FakeClock) -> None:
    shop = await _selling(tmp_path, clock)
    for bad in ("/poster --help", "/poster t1 extra", "/poster nosuch"):
        shop.transport.clear()
        await shop.say(bad, "lily")
        assert shop.transport.images() == []
        [reply] = shop.texts(G1)
        assert "用法" in reply and "/poster [活动ID]" in reply


async def test_no_poster_before_anyone_buys_and_one_at_a_time(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    shop.transport.clear()
    await shop.say("/poster", "lily")
    assert shop.transport.images() == [] and "还没有人下单" in shop.texts(G1)[-1]
    await shop.say("A1 1", "alice")
    await shop.say("/poster", "lily", drain=False)
    await shop.say("/poster", "lily", drain=False)  # the first still waits in the outbox
    await shop.drain()
    assert len(shop.transport.images(G1)) == 1
    await shop.say("/poster", "lily")  # once it has left, a new request is served
    assert len(shop.transport.images(G1)) == 2
