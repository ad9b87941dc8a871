"""Reads of scheduled jobs run in a pool of their own, never in the executor a member's reply waits on.

Why: at an opening a hundred campaigns' monitors and order-guard checks start in the same
second, each reading in a worker thread. In the loop's default executor (six threads on two
cores) a member's 我的订单 then queued behind them, and, messages being handled one at a time
as the wechaty adapter delivers them, every message after it waited too: 250-330 ms
(docs/performance.md, the timeline burst). Jobs' reads now queue here, two at a time; the
default executor stays for reads someone in a chat is waiting for.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
THREADS = 2
THREAD_PREFIX = "background-read"

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix=THREAD_PREFIX)
        return _pool


async def in_background(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`asyncio.to_thread` for a scheduled job's work: the same context, its own threads."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor(), call)


__all__ = ["in_background"]
