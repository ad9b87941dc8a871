"""Issue 12.5: a coalesced post queued before a restart still tells everyone it named."""

from __future__ import annotations

import re
from pathlib import Path

from tests.commerce.selling_kit import G1, build_shop, campaign_text
from tests.fakes import FakeClock


async def test_a_notice_queued_before_a_restart_still_reaches_the_members_it_named(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock, text=campaign_text(a1=50, limit=2))
    await shop.open()
    await shop.say("A1 5", "alice", drain=False)  # limited to 2: a notice naming alice is queued
    assert any(m.kind == "notice" for m in shop.app.services.outbox._items.values())
    # the process dies before the notice leaves; a new one starts on the same database
    after = build_shop(tmp_path, clock, text=campaign_text(a1=50, limit=2))
    await after.say("A1 9", "bob", drain=False)  # bob is limited too
    await after.drain()
    notices = [m for m in after.transport.sent if m.group_id == G1 and m.kind == "notice"]
    told = {member for m in notices for member in m.mentions}
    assert {"alice", "bob"} <= told
    assert all(m.text.count("@alice") <= 1 and m.text.count("@bob") <= 1 for m in notices)


async def test_chain_and_stock_posts_queued_before_a_restart_keep_what_they_said(
    tmp_path: Path, clock: FakeClock
) -> None:
    text = campaign_text(a1=4, a2=4, limit=4)
    shop = build_shop(tmp_path, clock, text=text)
    await shop.open()
    clock.advance(120)  # past the opening post's stock window
    await shop.say("A1 4", "alice", drain=False)  # A1 sold out: a chain list and a stock post are queued
    after = build_shop(tmp_path, clock, text=text)
    await after.say("A2 4", "bob", drain=False)  # A2 sold out after the restart
    await after.drain()
    sent = [m for m in after.transport.sent if m.group_id == G1]
    chains = [m.text for m in sent if m.kind == "chain"]
    assert any("alice" in t and "bob" in t for t in chains)
    stock = " ".join(m.text for m in sent if m.kind == "stock")
    assert re.search(r"A1 丹东草莓 \S+ · 已售罄", stock) and re.search(r"A2 赣南脐橙 \S+ · 已售罄", stock)
