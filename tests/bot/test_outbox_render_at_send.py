"""Posts rendered at send: marked stale while queued (no write), rendered once as they leave.

The row always holds sendable text (the last text written), the text that leaves is written
with the `sending` mark, and a restart counts every loaded row as stale. A renderer that
returns None or fails leaves the stored text to be sent; a picture is never rendered again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.events import IMAGE_KIND
from bot.outbox import Outbox
from bot.outbox_pick import Queued
from bot.storage.outbox_store import OutboxStore
from bot.transports.base import SendError
from tests.bot.test_outbox import Recorder, make_outbox
from tests.fakes import FakeClock


class Board:
    """A rolling post whose text is everything said so far, and how often it was rendered."""

    def __init__(self) -> None:
        self.lines: list[str] = ["first"]
        self.renders = 0
        self.answer_none = False
        self.fail = False

    def render(self, item: Queued) -> tuple[str, tuple[str, ...]] | None:
        self.renders += 1
        if self.fail:
            raise RuntimeError("renderer bug")
        if self.answer_none:
            return None
        return " / ".join(self.lines), ("alice",)


def rows(store: OutboxStore) -> list[tuple[str, str, str]]:
    return [(row.status, row.text, row.mentions) for row in store.all_rows()]


def setup(db_url: str, clock: FakeClock) -> tuple[Outbox, OutboxStore, Recorder, Board]:
    outbox, store = make_outbox(db_url, clock)
    board = Board()
    outbox.render_at_send("board", board.render)
    return outbox, store, Recorder(outbox, clock), board


async def test_a_stale_post_is_rendered_once_as_it_leaves_and_its_row_holds_what_left(db_url: str) -> None:
    clock = FakeClock()
    outbox, store, rec, board = setup(db_url, clock)
    post = outbox.enqueue("first", group_id="g1", kind="board", delay=5.0)
    for n in range(50):
        board.lines.append(f"line {n}")
        assert outbox.mark_stale(post)
    await outbox.flush()
    assert rows(store) == [("queued", "first", "")]  # marking wrote nothing; the stored text is whole
    await outbox.drain()
    expected = " / ".join(board.lines)
    assert [(m.text, m.mentions) for m in rec.sent] == [(expected, ("alice",))]
    assert board.renders == 1
    assert rows(store) == [("sent", expected, "alice")]
    assert not outbox.mark_stale(post)  # it has left: the caller queues a new post


async def test_a_post_not_marked_stale_is_not_rendered_again(db_url: str) -> None:
    clock = FakeClock()
    outbox, store, rec, board = setup(db_url, clock)
    outbox.enqueue("as queued", group_id="g1", kind="board")
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["as queued"] and board.renders == 0


async def test_a_renderer_that_answers_none_or_fails_leaves_the_stored_text(db_url: str) -> None:
    clock = FakeClock()
    outbox, store, rec, board = setup(db_url, clock)
    board.answer_none = True
    a = outbox.enqueue("stored a", group_id="g1", kind="board")
    assert outbox.mark_stale(a)
    await outbox.drain()
    board.answer_none, board.fail = False, True
    b = outbox.enqueue("stored b", group_id="g2", kind="board")
    assert outbox.mark_stale(b)
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["stored a", "stored b"]
    assert [r[:2] for r in rows(store)] == [("sent", "stored a"), ("sent", "stored b")]


async def test_only_a_kind_with_a_renderer_can_be_marked_stale_and_never_a_picture(
    db_url: str, tmp_path: Path
) -> None:
    clock = FakeClock()
    outbox, _, _, _ = setup(db_url, clock)
    reply = outbox.enqueue("hello", group_id="g1")
    assert not outbox.mark_stale(reply)  # no renderer: the caller must `replace` the text itself
    picture = tmp_path / "p.png"
    picture.write_bytes(b"png")
    assert not outbox.mark_stale(outbox.enqueue_image(picture, group_id="g1"))
    with pytest.raises(ValueError):
        outbox.render_at_send(IMAGE_KIND, lambda item: None)


async def test_replacing_the_text_clears_the_stale_mark(db_url: str) -> None:
    clock = FakeClock()
    outbox, store, rec, board = setup(db_url, clock)
    post = outbox.enqueue("first", group_id="g1", kind="board")
    assert outbox.mark_stale(post)
    assert outbox.replace(post, "given by hand")
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["given by hand"] and board.renders == 0


async def test_a_failed_sending_mark_keeps_the_stored_text_and_renders_again(db_url: str) -> None:
    clock = FakeClock()
    outbox, store, rec, board = setup(db_url, clock)
    post = outbox.enqueue("first", group_id="g1", kind="board")
    await outbox.flush()
    assert outbox.mark_stale(post)
    board.lines.append("second")
    write = store.write
    calls = {"n": 0}

    def refuse_once(extra=()):  # type: ignore[no-untyped-def]
        if extra and calls["n"] == 0:
            calls["n"] += 1
            raise RuntimeError("database is locked")
        return write(extra)

    store.write = refuse_once  # type: ignore[method-assign]
    await outbox.pump()  # the mark is refused: nothing left, the item is still stale, text as stored
    assert not rec.sent
    item = outbox.queue.get(post)
    assert item is not None and item.stale and item.text == "first" and not item.sending
    board.lines.append("third")
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["first / second / third"]
    assert rows(store) == [("sent", "first / second / third", "alice")]


async def test_after_a_restart_a_loaded_post_is_rendered_afresh_or_sent_as_stored(db_url: str) -> None:
    clock = FakeClock()
    outbox, _, _, _ = setup(db_url, clock)
    outbox.enqueue("board as stored", group_id="g1", kind="board")
    outbox.enqueue("reply as stored", group_id="g2")
    await outbox.flush()
    # a new process on the same database: its renderer is registered before the first send
    after, store = make_outbox(db_url, clock)
    board = Board()
    board.lines = ["board as committed now"]
    after.render_at_send("board", board.render)
    rec = Recorder(after, clock)
    await after.drain()
    assert sorted(m.text for m in rec.sent) == ["board as committed now", "reply as stored"]
    assert board.renders == 1
    assert sorted(r[1] for r in rows(store)) == ["board as committed now", "reply as stored"]


async def test_a_send_error_after_rendering_keeps_the_rendered_text_for_the_retry(db_url: str) -> None:
    clock = FakeClock()
    outbox, store, rec, board = setup(db_url, clock)
    post = outbox.enqueue("first", group_id="g1", kind="board")
    assert outbox.mark_stale(post)
    board.lines.append("second")
    rec.fail_next.append(SendError("timeout", retryable=True))
    await outbox.drain()
    assert [m.text for m in rec.sent] == ["first / second"] and board.renders == 1
    assert rows(store)[0][:2] == ("sent", "first / second")
