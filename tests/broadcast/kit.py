"""Four groups for broadcasts: lily leads 一二三群 (三群 with anna, who never spoke: no leader name
to greet with), mike leads 四群; #fruit tags 一二三群, #veg tags 三群 and 四群; sale t1 in all four."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.commerce.selling_kit import G1, G2, Shop, build_shop, campaign_text
from tests.conftest import make_config
from tests.factories import private_message
from tests.fakes import FakeClock

G3, G4 = "团购三群", "团购四群"
GROUPS = {
    G1: {"name": G1, "leaders": ["lily"], "tags": ["fruit"]},
    G2: {"name": G2, "leaders": ["lily"], "tags": ["fruit"]},
    G3: {"name": G3, "leaders": ["lily", "anna"], "tags": ["fruit", "veg"]},
    G4: {"name": G4, "leaders": ["mike"], "tags": ["veg"]},
}
CODE = re.compile(r"回复「([0-9A-Z]{5}) 报名」")


def with_messages(messages: str) -> str:
    """The four-group sale with `broadcasts.messages` (YAML list items, indented four spaces)."""
    text = campaign_text(groups=(G1, G2, G3, G4))
    marker = "broadcasts:\n  at: [T+30m]\n"
    assert marker in text
    return text.replace(marker, marker + "  messages:\n" + messages) if messages else text


def broadcast_shop(
    tmp_path: Path, clock: FakeClock, db_url: str | None = None, messages: str = "", **web: Any
) -> Shop:
    config = make_config(tmp_path, db_url=db_url, groups=GROUPS, **({"web": web} if web else {}))
    return build_shop(tmp_path, clock, text=with_messages(messages), config=config)


async def private(shop: Shop, text: str, sender: str) -> None:
    await shop.transport.inject(private_message(text, sender, at=shop.clock.now()))


def code_of(text: str) -> str:
    found = CODE.search(text)
    assert found is not None, text
    return found.group(1)


__all__ = ["CODE", "G1", "G2", "G3", "G4", "GROUPS", "broadcast_shop", "code_of", "private", "with_messages"]
