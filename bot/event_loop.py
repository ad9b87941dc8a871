"""The event loop the bot runs on: uvloop where it is installed, asyncio's own otherwise.

Why: every message costs the loop its own bookkeeping (a turn, a select, the callbacks of the
writers' wake-ups, a task for a message that waits for a thread). In pure Python that was a
tenth of the event loop's time in the routing benchmark; uvloop (libuv, in C) does it for less
(docs/performance.md). Nothing of ours depends on which loop runs: `bot.event_loop: asyncio`
in config.yaml goes back to the standard one, and a platform without uvloop (Windows) has it.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
LoopKind = Literal["uvloop", "asyncio"]


def available(kind: LoopKind = "uvloop") -> LoopKind:
    """The loop `run(..., kind)` runs on here: uvloop only if asked for and installed."""
    if kind == "uvloop" and importlib.util.find_spec("uvloop") is not None:
        return "uvloop"
    return "asyncio"


def loop_factory(kind: LoopKind = "uvloop") -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What `asyncio.Runner` makes its loop with; None for asyncio's default."""
    if available(kind) == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], kind: LoopKind = "uvloop") -> T:
    """`asyncio.run(main)` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(kind)) as runner:
        return runner.run(main)


__all__ = ["LoopKind", "available", "loop_factory", "run"]
