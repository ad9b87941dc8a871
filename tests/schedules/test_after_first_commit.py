"""Campaign-wide work a node hook starts runs once per node run, not once per group."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.campaign.nodes import NodeRun

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


def runs(groups: int) -> list[NodeRun]:
    first = NodeRun(
        campaign=Any, node=Any, group_id="g0", services=Any, now=NOW, fire_at=NOW, opens_at=NOW, closes_at=NOW
    )  # type: ignore[arg-type]
    # One node run over many groups: every group's NodeRun shares the run's memo (node_runs does so).
    return [replace(first, group_id=f"g{i}", after=[]) for i in range(groups)]


def test_a_step_keyed_once_runs_after_the_first_committed_group_only() -> None:
    started: list[str] = []
    each: list[str] = []
    group_runs = runs(100)
    for run in group_runs:
        run.after_first_commit("guard", lambda: started.append("job"))
        run.after_commit(lambda run=run: each.append(run.group_id))  # type: ignore[misc]
    rolled_back, *committed = group_runs
    for run in committed:  # the first group's transaction rolled back: its steps never run
        for step in run.after:
            step()
    assert started == ["job"] and len(each) == 99
