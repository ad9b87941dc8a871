"""Pickup codes (取货码): what one looks like, how one is made, and how they are read.

This is a shared interface (docs in /work/notes): the lists (提货单) and 我的订单 read
`codes_for`, and the issuer at close uses `point_of` for the point a code belongs to.

A code is 4 characters from an alphabet without the look-alikes (0/O, 1/I/L), drawn
with `secrets`: 31**4 ≈ 920k codes, so guessing one of a campaign's few hundred takes
thousands of tries, and a clerk only ever sees codes of their own point.
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from bot.campaign import Campaign
from bot.context import Services
from bot.storage.engine import connected
from handlers.fulfilment.pickup_tables import CODES

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""Digits and capitals without 0/O, 1/I/L: a code read aloud or off a phone is not misread."""
CODE_LENGTH = 4
CODE_RE = re.compile(rf"[{ALPHABET}]{{{CODE_LENGTH}}}")
LOOSE_CODE_RE = re.compile(rf"[{ALPHABET}{ALPHABET.lower()}]{{{CODE_LENGTH}}}")
"""What a clerk may type: the same characters in either case (`k7q3` is K7Q3)."""


@dataclass(frozen=True)
class PickupCode:
    """One buyer's code for one campaign; `picked_at` is None until the goods are picked up."""

    campaign_id: str
    member_id: str
    point: str  # the pickup point's name; "" = none chosen
    code: str
    issued_at: datetime
    picked_at: datetime | None
    picked_by: str  # the member id of who checked it off; "" until then
    picked_by_name: str = ""
    reminded_at: datetime | None = None

    @property
    def picked(self) -> bool:
        return self.picked_at is not None


def new_code(rng: random.Random | None = None) -> str:
    """A fresh random code (not yet known to be unique in its campaign), from `secrets` unless
    a seeded `rng` is given (a rehearsal, which must give the same transcript every run).

    Never all digits: such a code cannot be told from a number in a group post (a price, a sales
    figure), so the group filter does not hide it wherever it appears (`GroupFilter.hide`), and
    a buyer pasting it in the group would show it. One draw in about 230 was such a code."""
    choice = rng.choice if rng is not None else secrets.choice
    while True:
        code = "".join(choice(ALPHABET) for _ in range(CODE_LENGTH))
        if not code.isdigit():
            return code


class CodeDraw:
    """Where this app's codes come from: `secrets`, or a seeded generator in a rehearsal."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return new_code(self.rng)


def code_draw(services: Services) -> CodeDraw:
    return services.get_or_make(CodeDraw, CodeDraw)


def seed_codes(services: Services, rng: random.Random) -> None:
    """Draw codes from `rng` (rehearsals want the same codes each run; never a live bot)."""
    services.provide(CodeDraw(rng))


def normalise(text: str) -> str | None:
    """The code a clerk typed (`k7q3`, ` K7Q3 `), upper-cased; None if it cannot be a code."""
    text = text.strip()
    return text.upper() if LOOSE_CODE_RE.fullmatch(text) else None


def row_to_code(row: object) -> PickupCode:
    r = row._mapping  # type: ignore[attr-defined]
    return PickupCode(
        campaign_id=r["campaign_id"],
        member_id=r["member_id"],
        point=r["point"],
        code=r["code"],
        issued_at=r["issued_at"],
        picked_at=r["picked_at"],
        picked_by=r["picked_by"],
        picked_by_name=r["picked_by_name"],
        reminded_at=r["reminded_at"],
    )


def codes_for(engine_or_conn: Engine | Connection, campaign_id: str) -> dict[str, PickupCode]:
    """The campaign's codes by member id (empty before the close issued them)."""
    query = select(CODES).where(CODES.c.campaign_id == campaign_id).order_by(CODES.c.id)
    with connected(engine_or_conn) as conn:
        rows = conn.execute(query).all()
    return {code.member_id: code for code in map(row_to_code, rows)}


def unpicked_codes(engine: Engine) -> list[str]:
    """Every code still waiting to be picked up: the group filter masks them in group posts."""
    with engine.connect() as conn:
        return list(conn.execute(select(CODES.c.code).where(CODES.c.picked_at.is_(None))).scalars())


def point_of(campaign: Campaign, chosen: str | None) -> str:
    """The pickup point a member's code belongs to: their choice, else the campaign's only point, else "".

    A choice is kept as the member made it when it names no point of the file (a point renamed
    since): the leader still sees it in the lists rather than losing it.
    """
    if chosen:
        return chosen
    points = campaign.pickup_points
    return points[0].name if len(points) == 1 else ""


__all__ = [
    "ALPHABET",
    "CODE_RE",
    "CodeDraw",
    "PickupCode",
    "code_draw",
    "codes_for",
    "new_code",
    "normalise",
    "point_of",
    "seed_codes",
    "unpicked_codes",
]
