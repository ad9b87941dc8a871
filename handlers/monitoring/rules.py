"""Alert rules and the state machine that keeps them from storming.

A rule fires only after its condition has held for `min_duration`, then stays
quiet for `cooldown` even if the condition persists, and announces recovery
once when the metric is healthy again. Defaults are the source documents'
monitoring table (brief.md): active members below 50 %, conversion below 15 %
(checked every 5 minutes), stock below 20 % (every minute), fewer than 10
messages a minute during a live sale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal


@dataclass(frozen=True)
class Rule:
    name: str
    threshold: float
    every: timedelta
    min_duration: timedelta
    cooldown: timedelta
    window: timedelta
    below: bool = True

    def breached(self, value: float) -> bool:
        return value < self.threshold if self.below else value > self.threshold


DEFAULT_RULES: dict[str, Rule] = {
    "active_ratio": Rule(
        "active_ratio",
        0.5,
        every=timedelta(minutes=1),
        min_duration=timedelta(minutes=5),
        cooldown=timedelta(minutes=30),
        window=timedelta(minutes=30),
    ),
    "messages_per_minute": Rule(
        "messages_per_minute",
        10,
        every=timedelta(minutes=1),
        min_duration=timedelta(minutes=3),
        cooldown=timedelta(minutes=20),
        window=timedelta(minutes=5),
    ),
    "conversion": Rule(
        "conversion",
        0.15,
        every=timedelta(minutes=5),
        min_duration=timedelta(minutes=10),
        cooldown=timedelta(minutes=60),
        window=timedelta(minutes=60),
    ),
    "stock_ratio": Rule(
        "stock_ratio",
        0.2,
        every=timedelta(minutes=1),
        min_duration=timedelta(0),
        cooldown=timedelta(hours=6),
        window=timedelta(minutes=1),
    ),
}


@dataclass
class AlertState:
    """Where one rule stands for one group (and product, for stock)."""

    breached_since: datetime | None = None
    firing: bool = False
    last_fired: datetime | None = None
    last_checked: datetime | None = None


Transition = Literal["fire", "recover"]


def step(rule: Rule, state: AlertState, value: float, now: datetime) -> Transition | None:
    """Advance `state` with a new observation; say whether to alert or announce recovery."""
    state.last_checked = now
    if rule.breached(value):
        if state.breached_since is None:
            state.breached_since = now
        held = now - state.breached_since >= rule.min_duration
        cooled = state.last_fired is None or now - state.last_fired >= rule.cooldown
        if held and cooled and not state.firing:
            state.firing = True
            state.last_fired = now
            return "fire"
        return None
    state.breached_since = None
    if state.firing:
        state.firing = False
        return "recover"
    return None


def due(rule: Rule, state: AlertState, now: datetime) -> bool:
    """Whether this rule should be checked now (rules have their own intervals)."""
    return state.last_checked is None or now - state.last_checked >= rule.every - timedelta(seconds=1)
