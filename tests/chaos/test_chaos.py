"""The fault suite (issue 12, acceptance 1): SIGKILL the real `tuanbot run` at random points.

Not a unit test: it runs the installed `tuanbot` in a subprocess on real time,
pipes chat into it, kills it with SIGKILL at least 20 times (five or more of
them inside an opening fan-out over 240 groups) and restarts it on the same
database each time, then prints the figures of docs/reliability.md and
asserts every one is 0. `make chaos` runs a longer version
(TUANBOT_CHAOS_KILLS=50); CI runs `make chaos CHAOS_KILLS=20` after `make test`.
The transcripts, logs and figures stay in the test's tmp folder, and are copied
to TUANBOT_CHAOS_ARTIFACTS when it is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.driver import keep_artifacts
from tests.chaos.scenario import Chaos, Plan

pytestmark = pytest.mark.chaos


def _plan(**overrides: object) -> Plan:
    kills = int(os.environ.get("TUANBOT_CHAOS_KILLS", "20"))
    plan = Plan(
        min_kills=kills,
        sale_kills=max(12, kills // 2),
        fanout_kills=max(8, kills // 5),  # a kill takes ~20 groups of the fan-out with it: 240 allow ~10-14
        seed=int(os.environ.get("TUANBOT_CHAOS_SEED", "12")),
    )
    for key, value in overrides.items():
        setattr(plan, key, value)
    return plan


def _report(request: pytest.FixtureRequest, folder: Path, title: str, chaos: Chaos) -> None:
    assert chaos.result is not None
    figures = chaos.result
    table = figures.table(title)
    (folder / "figures.txt").write_text(table + "\n", encoding="utf-8")
    artifacts = os.environ.get("TUANBOT_CHAOS_ARTIFACTS")
    keep_artifacts(folder, Path(artifacts) / request.node.name if artifacts else None)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + table + f"\n(transcripts and logs: {folder})\n")
    else:
        print(table)


def _play(tmp_path: Path, db_url: str, plan: Plan) -> Chaos:
    folder = tmp_path / "chaos"
    folder.mkdir()
    chaos = Chaos(folder, db_url, plan)
    chaos.play()
    return chaos


def test_sigkill_during_sale_and_240_group_opening_on_sqlite(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    plan = _plan()
    chaos = _play(tmp_path, f"sqlite:///{tmp_path / 'chaos' / 'tuanbot.db'}", plan)
    _report(request, tmp_path / "chaos", "fault suite — SQLite", chaos)
    figures = chaos.result
    assert figures is not None
    assert len(chaos.kills) >= plan.min_kills
    fan = [k.detail for k in chaos.kills if k.phase in ("fan-out", "after fan-out")]
    assert sum(k.phase == "fan-out" for k in chaos.kills) >= plan.fanout_kills, fan
    assert figures.failing() == {}, figures.table("failing figures")


@pytest.mark.postgres
def test_sigkill_during_sale_on_postgres(tmp_path: Path, request: pytest.FixtureRequest, pg_url: str) -> None:
    kills = max(6, int(os.environ.get("TUANBOT_CHAOS_KILLS", "20")) // 3)
    plan = _plan(min_kills=kills, sale_kills=kills, with_fanout=False)
    chaos = _play(tmp_path, pg_url, plan)
    _report(request, tmp_path / "chaos", "fault suite — PostgreSQL (kill mid-sale)", chaos)
    figures = chaos.result
    assert figures is not None
    assert sum(k.phase == "sale" for k in chaos.kills) >= plan.sale_kills
    assert figures.failing() == {}, figures.table("failing figures")
