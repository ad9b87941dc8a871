"""The published list: names and phones masked as every group post is, no member id shown, long
lists cut into posts the outbox's size allows, and the seed and commitment never masked."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import handlers.lottery.store as lottery_store
from bot.feature import Lifecycle
from bot.group_filter import mask_group_text
from bot.outbox_merge import COALESCE_MAX_CHARS
from handlers.lottery.feature import FEATURE
from tests.commerce.selling_kit import G1
from tests.fakes import FakeClock
from tests.lottery.kit import HEX64, PART, published_draw, restarted, run_check_line, selling_shop


async def test_names_and_phones_are_masked_and_no_member_id_is_shown(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await selling_shop(tmp_path, clock)
    await shop.say("A1 1", "wxid_secret01", name="王姐13812345678")
    await shop.say("A1 1", "wxid_secret02", name="3栋502李阿姨")
    await shop.say("A1 1", "wxid_secret03", name="小美")
    await shop.say("/lottery start 1 20积分", "lily")
    await shop.say("/lottery draw", "lily")
    group_text = "\n".join(shop.texts(G1))
    seen = published_draw(shop.texts(G1))
    # As the 接龙 list shows them: the phone in a nickname starred, the room masked by the group filter.
    assert [name for _, name, _ in seen.entries] == ["王姐***", "**栋**李阿姨", "小美"]
    assert "13812345678" not in group_text and "3栋502" not in group_text
    assert "wxid_secret" not in group_text
    tags = {hashlib.sha256(f"{seen.seed}:wxid_secret0{i}".encode()).hexdigest()[:6] for i in (1, 2, 3)}
    assert {tag for _, _, tag in seen.entries} == tags  # each member can find (and prove) their line
    [winner] = seen.winners
    [note] = [t for i in (1, 2, 3) for t in shop.transport.private_texts(f"wxid_secret0{i}") if "中奖" in t]
    assert f"名单第 {winner} 号" in note


async def test_a_long_list_is_cut_into_posts_of_whole_lines_that_fit_the_outbox(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await selling_shop(tmp_path, clock)
    buyers = [f"m{i:03d}" for i in range(160)]
    for member in buyers:
        await shop.say("A1 1", member, name=f"{member}的长长长长长长长昵称☆13900001111")
    await shop.say("/lottery start 5 10积分", "lily")
    shop.transport.clear()
    await shop.say("/lottery draw", "lily")
    seen = published_draw(shop.texts(G1))
    assert len(seen.parts) >= 4
    assert all(len(part) <= COALESCE_MAX_CHARS for part in seen.parts)
    assert [PART.search(p).groups() for p in seen.parts] == [  # type: ignore[union-attr]
        (str(i), str(len(seen.parts))) for i in range(1, len(seen.parts) + 1)
    ]
    assert [number for number, _, _ in seen.entries] == list(range(1, 161))  # in order, none lost
    assert run_check_line(seen.check_line)[1] == seen.winners
    assert all(name.endswith("☆***") for _, name, _ in seen.entries)
    assert "13900001111" not in "\n".join(shop.transport.texts())


DIGITS_SEED = "ab13812345678cdef0123456789abcde"  # a mobile and a landline number, to the masker


async def test_the_seed_and_commitment_are_never_masked_even_across_a_restart(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert mask_group_text(DIGITS_SEED) != DIGITS_SEED  # unpublished, the seed would be starred
    monkeypatch.setattr(lottery_store, "new_seed", lambda: DIGITS_SEED)
    shop = await selling_shop(tmp_path, clock)
    await shop.say("A1 1", "alice")
    await shop.say("/lottery start 1 10积分", "lily")
    await shop.say("/lottery draw", "lily", drain=False)  # the process dies before the posts leave
    after = restarted(tmp_path, clock)
    lifecycle = Lifecycle()
    assert FEATURE.setup is not None
    FEATURE.setup(after.app.services, lifecycle)
    for hook in lifecycle.starting:  # what the app runs at start
        hook()
    await after.drain()
    seen = published_draw(after.texts(G1))
    assert seen.seed == DIGITS_SEED
    assert seen.commitment == hashlib.sha256(DIGITS_SEED.encode()).hexdigest()
    assert run_check_line(seen.check_line) == (seen.commitment, [1])
    [commit_post] = [t for t in shop.texts(G1) if "抽奖开始" in t]  # sent before the restart
    assert HEX64.findall(commit_post) == [seen.commitment]
