"""A sale with real orders and a lottery on it, and readers of what the group was shown.

The readers parse the posts as a member would read them (the commitment, the seed, the
numbered list, the verification line), so the tests check what was published, not the tables.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from handlers.lottery.store import Lottery, LotteryStore
from tests.commerce.selling_kit import G1, Shop, build_shop, campaign_text
from tests.fakes import FakeClock

COUPONS = """\
coupons:
  - {id: lucky, keyword: 幸运大奖券, amount: 8}
  - {id: berry, keyword: 草莓券, amount: 3, products: [A1]}
"""
TEXT = campaign_text(a1=5000, a2=5000, limit=50) + COUPONS

HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
SEED = re.compile(r"种子：([0-9a-f]{32})")
ENTRY = re.compile(r"^(\d+)\. (.*) · ([0-9a-f]{6})$")
PART = re.compile(r"抽奖名单（(\d+)/(\d+)）")
CHECK_LINE = re.compile(r"^python3 -c '(.*)'$", re.MULTILINE)


async def selling_shop(tmp_path: Path, clock: FakeClock) -> Shop:
    shop = build_shop(tmp_path, clock, text=TEXT)
    await shop.open()
    return shop


def restarted(tmp_path: Path, clock: FakeClock) -> Shop:
    """A new process on the same database and campaign file (the old one simply stops)."""
    return build_shop(tmp_path, clock, text=TEXT)


def lottery_of(shop: Shop, group: str = G1) -> Lottery | None:
    return LotteryStore(shop.app.services.repo.engine).latest(group)


@dataclass(frozen=True)
class Published:
    """A drawn lottery as the group saw it."""

    seed: str
    commitment: str
    winners: list[int]  # as announced, best first
    entries: list[tuple[int, str, str]]  # (number, name as shown, tag)
    check_line: str  # the verification one-liner, as posted
    parts: list[str]  # the list posts, in order


def published_draw(texts: list[str]) -> Published:
    [result] = [t for t in texts if "开奖！" in t]
    seed = SEED.search(result)
    assert seed is not None, result
    commitment = re.search(r"开奖承诺：([0-9a-f]{64})", result)
    assert commitment is not None, result
    announced = re.search(r"中奖序号（依次）：(.*)", result)
    assert announced is not None, result
    winners = [int(n) for n in announced.group(1).split("、")]
    line = CHECK_LINE.search(result)
    assert line is not None, result
    parts = [t for t in texts if PART.search(t)]
    entries = [
        (int(m.group(1)), m.group(2), m.group(3))
        for part in parts
        for row in part.splitlines()
        if (m := ENTRY.match(row))
    ]
    return Published(seed.group(1), commitment.group(1), winners, entries, line.group(1), parts)


def run_check_line(code: str) -> tuple[str, list[int]]:
    """The posted one-liner, run by a fresh Python as a member would: (its sha256 line, the winners)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    first, second = out.stdout.strip().splitlines()
    return first, [int(n) for n in second.strip("[]").split(",")]
