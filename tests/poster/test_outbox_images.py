"""Pictures through the outbox: rows of their own kind that survive a restart, leave once, and are
never masked, merged into text or replaced by it (no schema change: the row's text is the path)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import OutboxSettings
from bot.events import IMAGE_KIND
from bot.outbox import Draft, Outbox
from bot.storage.engine import init_db, make_engine
from bot.storage.outbox_store import OutboxStore
from bot.storage.tables import OutboxRow
from bot.transports.base import SendError
from bot.vocab import Priority
from tests.fakes import FakeClock, FakeTransport

PNG = b"\x89PNG\r\n\x1a\n-not-really-a-picture"


class Recorder(FakeTransport):
    """The fake transport without an app: only an outbox to drain."""

    def __init__(self, outbox: Outbox, clock: FakeClock) -> None:
        self.clock = clock
        self.sent = []
        self.sent_at = []
        self.fail_next = []
        self.connected = True
        outbox.attach(self)


def make_outbox(db_url: str, clock: FakeClock) -> Outbox:
    engine = make_engine(db_url)
    init_db(engine)
    outbox = Outbox(OutboxStore(engine), clock, OutboxSettings(), rng=random.Random(1))
    outbox.load()
    return outbox


def picture(folder: Path, name: str = "poster.png") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PNG)
    return path


async def test_a_picture_is_a_row_of_its_kind_sent_once_after_a_restart(db_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    path = picture(tmp_path)
    first = make_outbox(db_url, clock)
    row_id = first.enqueue_image(path, group_id="g1")
    await first.flush()  # written; the process "stops" before sending it
    rows = first.store.all_rows()
    assert [(r.id, r.kind, r.text, r.status) for r in rows] == [(row_id, IMAGE_KIND, str(path), "queued")]

    second = make_outbox(db_url, clock)  # the restart: the queue is read back from the table
    recorder = Recorder(second, clock)
    await second.drain()
    assert [(m.kind, m.text, m.group_id, m.is_image) for m in recorder.sent] == [
        (IMAGE_KIND, str(path), "g1", True)
    ]
    assert recorder.images() == [path] and recorder.texts() == []

    third = make_outbox(db_url, clock)  # and another: nothing is sent twice
    again = Recorder(third, clock)
    await third.drain()
    assert again.sent == []
    assert [r.status for r in third.store.all_rows()] == ["sent"]


async def test_the_group_mask_leaves_a_pictures_path_alone(tmp_path: Path) -> None:
    clock = FakeClock()
    # Digits a mask would star out: a phone number, a room, a code-shaped name.
    path = picture(tmp_path / "13812345678" / "3栋502", "K7Q3-poster.png")
    outbox = make_outbox(f"sqlite:///{tmp_path / 'db.sqlite'}", clock)
    recorder = Recorder(outbox, clock)
    outbox.enqueue("电话 13812345678", group_id="g1")
    outbox.enqueue_image(path, group_id="g1")
    await outbox.drain()
    said, sent = recorder.sent
    assert "13812345678" not in said.text  # a text post is masked as it leaves
    assert sent.text == str(path) and Path(sent.text).is_file()
    row = outbox.store.all_rows()[1]
    assert (row.kind, row.text) == (IMAGE_KIND, str(path))


async def test_a_picture_is_never_merged_into_text_nor_replaced_by_it(tmp_path: Path) -> None:
    clock = FakeClock()
    path = picture(tmp_path)
    outbox = make_outbox(f"sqlite:///{tmp_path / 'db.sqlite'}", clock)
    recorder = Recorder(outbox, clock)
    alert = outbox.enqueue("库存告急：A1", member_id="lily", kind="alert")
    image = outbox.enqueue_image(path, member_id="lily")
    merged = outbox.enqueue(
        "库存告急：A2", member_id="lily", kind="alert"
    )  # merges into the alert, not the picture
    assert merged == alert and image != alert
    keyed = outbox.enqueue(str(path), group_id="g1", kind=IMAGE_KIND, replace_key="poster")
    text = outbox.enqueue("战绩文字", group_id="g1", replace_key="poster")
    assert text != keyed, "text with the picture's replace key must not overwrite its path"
    await outbox.drain()
    kinds = [(m.kind, m.text) for m in recorder.sent]
    assert ("alert", "库存告急：A1\n库存告急：A2") in kinds
    assert kinds.count((IMAGE_KIND, str(path))) == 2
    assert ("reply", "战绩文字") in kinds


async def test_a_missing_file_is_refused_when_queued_and_given_up_when_gone_at_send(tmp_path: Path) -> None:
    clock = FakeClock()
    outbox = make_outbox(f"sqlite:///{tmp_path / 'db.sqlite'}", clock)
    recorder = Recorder(outbox, clock)
    with pytest.raises(FileNotFoundError):
        outbox.enqueue_image(tmp_path / "nowhere.png", group_id="g1")
    path = picture(tmp_path)
    outbox.enqueue_image(path, group_id="g1")
    path.unlink()  # deleted by hand before it left
    await outbox.drain()
    assert recorder.sent == []
    assert [(r.status, r.attempts) for r in outbox.store.all_rows()] == [("failed", 1)]


async def test_rows_written_in_a_callers_transaction_are_queued_only_after_its_commit(tmp_path: Path) -> None:
    clock = FakeClock()
    path = picture(tmp_path)
    outbox = make_outbox(f"sqlite:///{tmp_path / 'db.sqlite'}", clock)
    recorder = Recorder(outbox, clock)
    draft = Draft.image(path, group_id="g1", priority=Priority.CAMPAIGN)
    with pytest.raises(RuntimeError), outbox.store.engine.begin() as conn:
        outbox.enqueue_in(conn, [draft])
        raise RuntimeError("the node failed")  # rolled back: no row, nothing queued
    assert outbox.pending() == 0 and outbox.store.all_rows() == []
    with outbox.store.engine.begin() as conn:
        ids, admit = outbox.enqueue_in(conn, [draft])
        assert outbox.pending() == 0  # not before the commit
    with outbox.store.engine.connect() as conn:
        assert conn.execute(select(OutboxRow.kind).where(OutboxRow.id == ids[0])).scalar_one() == IMAGE_KIND
    admit()
    await outbox.drain()
    assert recorder.images() == [path]


async def test_a_transport_refusing_the_picture_leaves_it_queued_to_retry(tmp_path: Path) -> None:
    clock = FakeClock()
    path = picture(tmp_path)
    outbox = make_outbox(f"sqlite:///{tmp_path / 'db.sqlite'}", clock)
    recorder = Recorder(outbox, clock)
    recorder.fail_next = [SendError("network down", retryable=True)]
    outbox.enqueue_image(path, group_id="g1")
    await outbox.drain()
    assert recorder.images() == [path]  # sent on the retry, once
