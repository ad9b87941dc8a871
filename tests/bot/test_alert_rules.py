"""The alert state machine: duration before firing, cool-down, one recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.monitoring.rules import AlertState, Rule, step

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
RULE = Rule(
    "x",
    0.5,
    every=timedelta(minutes=1),
    min_duration=timedelta(minutes=5),
    cooldown=timedelta(minutes=30),
    window=timedelta(minutes=30),
)


def run(values: list[float]) -> list[tuple[int, str]]:
    state = AlertState()
    out = []
    for minute, value in enumerate(values):
        transition = step(RULE, state, value, T0 + timedelta(minutes=minute))
        if transition:
            out.append((minute, transition))
    return out


def test_fires_only_after_min_duration() -> None:
    assert run([0.4] * 4) == []
    assert run([0.4] * 6) == [(5, "fire")]


def test_a_blip_does_not_fire() -> None:
    assert run([0.4, 0.4, 0.6, 0.4, 0.4, 0.4, 0.4, 0.6]) == []


def test_no_storm_while_breached_and_one_recovery() -> None:
    assert run([0.4] * 60 + [0.7] * 5) == [(5, "fire"), (60, "recover")]


def test_cooldown_holds_back_a_second_alert() -> None:
    values = [0.4] * 6 + [0.7] + [0.4] * 10 + [0.7] + [0.4] * 40
    # fires at 5, recovers at 6; breached 7-16 (held from 12, but cooling until 35); healthy at 17;
    # breached again from 18: held from 23, cooled at 35 -> fires then, once.
    assert run(values) == [(5, "fire"), (6, "recover"), (35, "fire")]


def test_above_threshold_rules() -> None:
    rule = Rule(
        "backlog",
        100,
        every=timedelta(minutes=1),
        min_duration=timedelta(0),
        cooldown=timedelta(minutes=10),
        window=timedelta(minutes=1),
        below=False,
    )
    state = AlertState()
    assert step(rule, state, 150, T0) == "fire"
    assert step(rule, state, 50, T0 + timedelta(minutes=1)) == "recover"
