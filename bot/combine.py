"""One rolling post instead of many: the coupon receipts of a claim burst, the names of a welcome.

While a combined post is still queued in the outbox, each new item re-renders
it with every item so far; once it has been sent, the next item starts a new
post (`Outbox.roll`). The outbox enforces the pacing (3 s per group), so a burst of
a hundred claims becomes a handful of posts naming everyone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.context import Services


@dataclass
class _Rolling:
    outbox_id: int
    items: list[Any] = field(default_factory=list)


@dataclass
class _State:
    # Replace keys carry a per-process nonce: after a restart the in-memory item list is gone,
    # so a post queued before it must not be replaced by one that forgot its names.
    nonce: str = field(default_factory=lambda: secrets.token_hex(3))
    rolling: dict[tuple[str, str], _Rolling] = field(default_factory=dict)


def _state(services: Services) -> _State:
    return services.get_or_make(_State, _State)


def add_to_post(
    services: Services,
    group_id: str,
    key: str,
    item: Any,
    render: Callable[[list[Any]], str],
    *,
    priority: int,
    kind: str,
    delay: float = 0.0,
) -> int:
    """Add `item` to the group's rolling post `key` and (re)queue it; returns the outbox id."""
    state = _state(services)
    current = state.rolling.get((group_id, key))
    known = current.items if current is not None else []
    grown, fresh = (known if item in known else [*known, item]), [item]
    outbox_id = services.outbox.roll(
        current.outbox_id if current is not None else None,
        lambda grow: (render(grown if grow else fresh), ()),
        group_id=group_id,
        priority=priority,
        kind=kind,
        replace_key=f"{key}:{state.nonce}",
        delay=delay,
    )
    replaced = current is not None and outbox_id == current.outbox_id
    state.rolling[(group_id, key)] = _Rolling(outbox_id, grown if replaced else fresh)
    return outbox_id
