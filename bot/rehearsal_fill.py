"""Scenario placeholders filled at replay time: what a scenario cannot know when it is written.

A pickup code is drawn at close from `secrets`, so a scenario that rehearses 核销 cannot spell
it out. `{code:alice}` in a scenario line becomes alice's code for the rehearsed campaign at the
moment the line is played (or `NOCODE` when she has none, which the bot answers like any
unknown code). Likewise `{invite:alice}` becomes alice's personal invite code (推荐有礼), drawn
when she first asked `我的邀请码` (or `NOCODE`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from handlers.fulfilment.codes import codes_for
from handlers.referral.tables import CODES

PLACEHOLDER_RE = re.compile(r"\{code:([^{}\s]+)\}")
INVITE_RE = re.compile(r"\{invite:([^{}\s]+)\}")
NO_CODE = "NOCODE"


def code_filler(engine: Engine, campaign_id: str) -> Callable[[str], str]:
    """A function that replaces every `{code:MEMBER}` in a line with that member's pickup code."""

    def fill(line: str) -> str:
        if "{invite:" in line:
            line = INVITE_RE.sub(lambda m: invite_code(engine, m.group(1)), line)
        if "{code:" not in line:
            return line
        codes = codes_for(engine, campaign_id)

        def one(match: re.Match[str]) -> str:
            found = codes.get(match.group(1))
            return found.code if found is not None else NO_CODE

        return PLACEHOLDER_RE.sub(one, line)

    return fill


def invite_code(engine: Engine, member_id: str) -> str:
    """The member's invite code, or `NOCODE` when they never asked for one."""
    with engine.connect() as conn:
        found = conn.execute(select(CODES.c.code).where(CODES.c.member_id == member_id)).scalar()
    return str(found) if found else NO_CODE
