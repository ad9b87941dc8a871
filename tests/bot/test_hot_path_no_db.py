"""Issue 14, acceptance 4: one chat message runs no database statement on the event-loop thread.

A real app (the shipped features, the sample campaign open) with a SQLAlchemy
`before_cursor_execute` listener on its engine that records the executing thread. The
common case is a member the bot has seen before, so each test first lets the member
speak once (and flushes), then checks the message it measures. Statements on other
threads (the inbound writer, the order writer) are the design; statements on the loop
thread are listed with the SQL and the innermost frame of our code, for the owner.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.app import App
from tests.conftest import AppFactory
from tests.engagement.support import CAMPAIGN_ID, say, with_campaign
from tests.fakes import FakeClock, FakeTransport

ROOT = str(Path(__file__).resolve().parents[2])


class LoopStatements:
    """Statements executed on the thread that created this recorder (the event loop's).

    `within`: only statements with a frame of that part of the tree on the stack (a feature's
    own test leaves the other features to their owners' tests).
    """

    def __init__(self, app: App, within: str = "") -> None:
        self.engine = app.services.repo.engine
        self.within = within
        self.loop_thread = threading.get_ident()
        self.seen: list[str] = []
        self.recording = False
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not self.recording or threading.get_ident() != self.loop_thread:
            return
        ours = [
            f"{f.filename.removeprefix(ROOT + '/')}:{f.lineno} {f.name}"
            for f in traceback.extract_stack()
            if f.filename.startswith(ROOT) and "/.venv/" not in f.filename and "/tests/" not in f.filename
        ]
        if self.within and not any(frame.startswith(self.within) for frame in ours):
            return
        self.seen.append(f"{' '.join(statement.split())[:120]}  <- {' <- '.join(reversed(ours[-3:]))}")

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture
async def shop(make_app: AppFactory, clock: FakeClock, tmp_path: Path) -> Iterator[tuple[App, FakeTransport]]:
    app, transport = make_app()
    registry = with_campaign(app, tmp_path)
    await registry.run_node(CAMPAIGN_ID, "open")
    await app.services.outbox.drain()
    yield app, transport


async def _loop_statements(app: App, clock: FakeClock, warm: str, text: str) -> tuple[list[str], str]:
    """Statements on the loop for `text` from a member who already said `warm`, and its handler."""
    recorder = LoopStatements(app)
    try:
        await app.handle_event(say(clock, warm, "alice"))
        await app.services.outbox.drain()
        app.flush_inbound()
        clock.advance(120)  # past the features' cooldowns: the second message is served in full
        recorder.recording = True
        result = await app.handle_event(say(clock, text, "alice"))
        recorder.recording = False
        return recorder.seen, result.handled_by
    finally:
        recorder.close()
        app.flush_inbound()


async def test_a_members_chatter_runs_no_statement_on_the_loop(
    shop: tuple[App, FakeTransport], clock: FakeClock
) -> None:
    app, _ = shop
    seen, handled_by = await _loop_statements(app, clock, "早上好", "哈哈哈哈哈，今天天气真好")
    assert seen == [], "\n".join(seen)
    assert handled_by == ""


async def test_a_question_runs_no_statement_on_the_loop(
    shop: tuple[App, FakeTransport], clock: FakeClock
) -> None:
    app, _ = shop
    seen, handled_by = await _loop_statements(app, clock, "早上好", "请问明天几点可以去取货？")
    assert seen == [], "\n".join(seen)
    assert handled_by == "handlers.faq.chat.handle_question"  # answered, not skipped


async def test_a_repeated_order_form_runs_no_statement_on_the_loop(
    shop: tuple[App, FakeTransport], clock: FakeClock
) -> None:
    app, _ = shop
    seen, handled_by = await _loop_statements(app, clock, "接龙 A1 1", "接龙 A1 1")
    assert handled_by.startswith("handlers.selling.")
    assert seen == [], "\n".join(seen)


async def test_my_coupons_reads_them_off_the_loop(shop: tuple[App, FakeTransport], clock: FakeClock) -> None:
    """我的优惠券 reads the member's coupons in a worker thread: a busy group asking at once does
    not hold the loop on the database."""
    app, transport = shop
    seen, handled_by = await _loop_statements(app, clock, "草莓券", "我的优惠券")
    assert handled_by == "handlers.coupons.chat.handle_my_coupons"
    assert seen == [], "\n".join(seen)
    await app.services.outbox.drain()
    assert any("优惠券" in t for t in transport.private_texts("alice"))
