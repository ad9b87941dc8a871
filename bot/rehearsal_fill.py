"""Scenario placeholders filled at replay time: what a scenario cannot know when it is written.

A pickup code is drawn at close from `secrets`, so a scenario that rehearses 核销 cannot spell
it out. `{code:alice}` in a scenario line becomes alice's code for the rehearsed campaign at the
moment the line is played (or `NOCODE` when she has none, which the bot answers like any
unknown code).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.engine import Engine

from handlers.fulfilment.codes import codes_for

PLACEHOLDER_RE = re.compile(r"\{code:([^{}\s]+)\}")
NO_CODE = "NOCODE"


def code_filler(engine: Engine, campaign_id: str) -> Callable[[str], str]:
    """A function that replaces every `{code:MEMBER}` in a line with that member's pickup code."""

    def fill(line: str) -> str:
        if "{code:" not in line:
            return line
        codes = codes_for(engine, campaign_id)

        def one(match: re.Match[str]) -> str:
            found = codes.get(match.group(1))
            return found.code if found is not None else NO_CODE

        return PLACEHOLDER_RE.sub(one, line)

    return fill
