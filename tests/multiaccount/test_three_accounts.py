"""Issue 18, acceptance 1: three account processes on one PostgreSQL, the scheduler's SIGKILLed.

Not a unit test: it starts three installed `tuanbot run --account aN` processes on the
simulator transport over 30 groups (10 each, three of them also listed by a standby
account), runs a flash sale with orders arriving at all three, SIGKILLs the process that
runs the scheduler after the opening, starts that account again as systemd would, and
lets the timeline finish. It prints its figures (tests/multiaccount/figures.py) and
asserts every one is 0: nothing oversold, one stock across accounts, every node once per
group, the scheduler taken over by another process within 30 s, nothing delivered twice,
and each account within its own per-minute limit. About 80 s of real time (the per-minute
limit is set low enough to bind, so the last posts wait for it).

Marked `postgres` (not `chaos`, which `make test` leaves to `make chaos`), so `make test`
and `make test-pg` run it. The transcripts, logs and figures stay in the test's tmp folder,
and are copied to TUANBOT_CHAOS_ARTIFACTS when it is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.driver import keep_artifacts
from tests.multiaccount.scenario import ACCOUNTS, TAKEOVER_LIMIT, ThreeAccountSale

pytestmark = pytest.mark.postgres


def _report(request: pytest.FixtureRequest, sale: ThreeAccountSale, title: str) -> None:
    assert sale.result is not None
    table = sale.result.table(title)
    (sale.folder / "figures.txt").write_text(table + "\n", encoding="utf-8")
    artifacts = os.environ.get("TUANBOT_CHAOS_ARTIFACTS")
    target = Path(artifacts) / request.node.name if artifacts else None
    keep_artifacts(sale.folder, target)
    for account in ACCOUNTS:
        keep_artifacts(sale.folder / account, target / account if target else None)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + table + f"\n(transcripts and logs: {sale.folder})\n")
    else:
        print(table)


def test_three_accounts_share_stock_and_survive_losing_the_scheduler(
    tmp_path: Path, request: pytest.FixtureRequest, pg_url: str
) -> None:
    folder = tmp_path / "multi"
    folder.mkdir()
    sale = ThreeAccountSale(folder, pg_url)
    sale.play()
    _report(request, sale, "three accounts, one PostgreSQL — scheduler's process SIGKILLed mid-timeline")
    figures = sale.result
    assert figures is not None
    took = sale.takeover.seconds()
    assert sale.takeover.killed_at is not None, "no scheduler process was found to kill"
    assert took is not None and took <= TAKEOVER_LIMIT, f"scheduler taken over after {took} s"
    assert sale.takeover.new_account not in ("", sale.takeover.killed_account), sale.takeover
    assert figures.failing() == {}, figures.table("failing figures")
