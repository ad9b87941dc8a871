"""Members' contact details never reach a group through coupons or red packets (issue 13.4).

Group nicknames such as "3栋502-张姐" or "王姐13812345678" are common in community
group-buying groups; a receipt or a results post repeats them to everyone.
"""

from __future__ import annotations

import random

from handlers.redpacket.memory import seed_splits
from tests.engagement.support import GROUP, say, with_campaign

PHONE_NAME = "王姐13812345678"
ROOM_NAME = "3栋502-张姐"


def leaked(texts: list[str]) -> bool:
    return any("13812345678" in t or "3栋502" in t for t in texts)


async def test_red_packet_results_and_refusals_mask_contacts_in_names(make_app, clock) -> None:
    app, transport = make_app()
    seed_splits(app.services, random.Random(5))
    await transport.inject(say(clock, "/redpacket 2 5", "lily"))
    await transport.inject(say(clock, "抢", "a", name=PHONE_NAME))
    await transport.inject(say(clock, "抢", "a", name=PHONE_NAME))  # already: told by name
    await transport.inject(say(clock, "抢", "b", name=ROOM_NAME))
    await transport.inject(say(clock, "抢", "c", name=ROOM_NAME))  # too late: named in the refusal
    texts = transport.texts(GROUP)
    assert not leaked(texts), texts
    assert any("王姐138****5678" in t and "**栋**-张姐" in t for t in texts)  # the results post


async def test_coupon_receipts_mask_contacts_in_names(make_app, clock, tmp_path) -> None:
    app, transport = make_app()
    with_campaign(app, tmp_path)
    await transport.inject(say(clock, "草莓券", "a", name=PHONE_NAME))
    await transport.inject(say(clock, "草莓券", "a", name=PHONE_NAME))
    await transport.inject(say(clock, "我的优惠券", "b", name=ROOM_NAME))
    texts = transport.texts(GROUP)
    assert not leaked(texts), texts
    assert "王姐138****5678" in texts[0]
