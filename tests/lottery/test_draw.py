"""Acceptance 3 of issue 17: the seed and list published at the draw reproduce its winners with
the documented one-liner, and the commitment posted before it is the seed's SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

from handlers.coupons.store import CouponStore
from handlers.lottery.fairness import entry_tag, winning_numbers
from handlers.points.ledger import points_of
from tests.commerce.selling_kit import G1, G2
from tests.fakes import FakeClock
from tests.lottery.kit import HEX64, lottery_of, published_draw, run_check_line, selling_shop

BUYERS = ["carol", "alice", "dave", "erin", "frank", "grace", "heidi"]  # in the order they first order


async def test_the_commitment_is_the_seeds_hash_and_the_posted_line_reproduces_the_winners(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await selling_shop(tmp_path, clock)
    for member in BUYERS:
        await shop.say("A1 1", member, name=f"{member}姐")
    await shop.say("A2 2", "alice", name="alice姐")  # a second order does not move alice
    await shop.say("A1 1", "ivan", group=G2)  # a buyer of the other group
    await shop.say("A1 1", "judy")
    await shop.say("取消全部", "judy")  # no active order left at the draw
    await shop.say("你好", "mallory")  # chatter, never a buyer
    shop.transport.clear()

    await shop.say("/lottery start 3 lucky", "lily")
    [commit_post] = shop.texts(G1)
    assert "3 名" in commit_post and "目前 7 人符合" in commit_post and "第一笔有效订单" in commit_post
    [commitment] = HEX64.findall(commit_post)
    lottery = lottery_of(shop)
    assert lottery is not None and lottery.seed not in " ".join(
        shop.transport.texts()
    )  # secret until the draw

    clock.advance(600)
    await shop.say("A1 1", "kate")  # buys after the start: in, at the end of the list
    shop.transport.clear()
    await shop.say("/lottery draw", "lily")
    seen = published_draw(shop.texts(G1))

    # The commitment posted before the draw is the SHA-256 of the seed published at it.
    assert seen.commitment == commitment == hashlib.sha256(seen.seed.encode()).hexdigest()
    # The posted line, run by a fresh Python, prints the commitment and the announced winners.
    assert run_check_line(seen.check_line) == (commitment, seen.winners)
    # And so does the documented snippet, on the published list's length.
    n = len(seen.entries)
    snippet = sorted(range(1, n + 1), key=lambda i: hashlib.sha256(f"{seen.seed}:{i}".encode()).hexdigest())[
        :3
    ]
    assert snippet == seen.winners == winning_numbers(seen.seed, n, 3) and len(set(snippet)) == 3

    # The list: every buyer with an active order in this group, numbered by their first order.
    expected = [*BUYERS, "kate"]
    assert [number for number, _, _ in seen.entries] == list(range(1, len(expected) + 1))
    assert [tag for _, _, tag in seen.entries] == [entry_tag(seen.seed, m) for m in expected]
    assert [name for _, name, _ in seen.entries] == [f"{m}姐" if m != "kate" else "kate" for m in expected]
    assert not {"ivan", "judy", "mallory"} & set(expected)

    # The winners are the members on the winning lines: told privately, each paid one coupon.
    winners = {expected[number - 1] for number in seen.winners}
    coupons = CouponStore(shop.app.services.repo.engine)
    for member in [*expected, "ivan", "judy", "mallory"]:
        notes = [t for t in shop.transport.private_texts(member) if "中奖" in t]
        held = coupons.held("t1", "lucky", member)
        if member in winners:
            assert len(notes) == 1 and len(held) == 1 and held[0].source == "lottery"
            assert held[0].code in notes[0] and held[0].amount_cents == 800
        else:
            assert notes == [] and held == []


async def test_non_buyers_never_win_whatever_the_seed(tmp_path: Path, clock: FakeClock) -> None:
    """Many draws, each with a fresh seed: the winners are always among the active buyers."""
    shop = await selling_shop(tmp_path, clock)
    for member in ("alice", "bob", "carol"):
        await shop.say("A1 1", member)
    await shop.say("A1 1", "dave")
    await shop.say("取消全部", "dave")
    for _ in range(12):
        shop.transport.clear()
        await shop.say("/lottery start 2 20积分", "lily")
        await shop.say("/lottery draw", "lily")
        seen = published_draw(shop.texts(G1))
        assert len(seen.entries) == 3
        assert [t for t in shop.transport.private_texts("dave") if "中奖" in t] == []
    ledger = points_of(shop.app.services)
    assert ledger.balance("dave") == 0
    assert sum(ledger.balance(m) for m in ("alice", "bob", "carol")) == 12 * 2 * 20
