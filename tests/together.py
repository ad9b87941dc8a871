"""Start the same work in several threads at one instant: a few processes starting at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def failures_together(work: Callable[[T], None], items: list[T], timeout: float = 120) -> list[BaseException]:
    """Run `work(item)` for every item, each in its own thread, released together; what they raised."""
    failures: list[BaseException] = []
    start = threading.Barrier(len(items))

    def run(item: T) -> None:
        start.wait()
        try:
            work(item)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return failures
