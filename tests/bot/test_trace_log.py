"""Per-message log lines cost the event loop a queue put: no loguru record is built for chatter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from bot import trace_log
from bot.logging_setup import drain_logs, setup_logging
from tests.conftest import AppFactory
from tests.factories import group_message, private_message


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "logs" / "trace.log"
    setup_logging("WARNING", path, console=False, timezone="Asia/Shanghai")
    yield path
    setup_logging("WARNING", None, console=False)


def test_a_trace_line_reads_like_a_loguru_line_and_keeps_its_place(log_file: Path) -> None:
    logger.info("before")
    trace_log.trace(trace_log.INFO, "bot.inbound:record", "inbound {}: {}", "王姐", "收到", msg_id="m1")
    logger.info("after")
    drain_logs()
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert [line.rsplit(" - ", 1)[1] for line in lines] == [
        "before",
        "inbound 王姐: 收到 | msg_id=m1",
        "after",
    ]
    assert " | INFO     | bot.inbound:record - " in lines[1]
    assert lines[1][:23] <= lines[2][:23]  # the same clock and zone as loguru's stamps


def test_log_lines_carry_their_ids_and_nothing_when_they_have_none(
    log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README promises each event line its group and message ids; the file dropped them, and
    the console ended every line without any in a stray `{}` (session 38's README walk)."""
    setup_logging("INFO", log_file, timezone="Asia/Shanghai")
    trace_log.trace(trace_log.INFO, "bot.inbound:record", "inbound {}", "王姐", msg_id="m1", group="g1")
    logger.bind(outbox_id=7, group="g1").info("sent")
    logger.info("plain")
    drain_logs()
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert lines[-3].endswith(" - inbound 王姐 | msg_id=m1 group=g1")
    assert lines[-2].endswith(" - sent | outbox_id=7 group=g1")
    assert lines[-1].endswith(" - plain")
    shown = capsys.readouterr().err.splitlines()
    assert shown[-3].endswith(" inbound 王姐 | msg_id=m1 group=g1")
    assert shown[-2].endswith(" sent | outbox_id=7 group=g1")
    assert shown[-1].endswith(" plain")


def test_a_message_with_braces_and_an_exception_still_reads(log_file: Path) -> None:
    setup_logging("INFO", log_file, console=False)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.bind(group="{g}<red>").opt(exception=True).error("failed on {}", "{x}")
    drain_logs()
    text = log_file.read_text(encoding="utf-8")
    assert " - failed on {x} | group={g}<red>\n" in text
    assert "ValueError: boom" in text


def test_json_log_files_get_trace_lines_in_loguru_s_shape(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "trace.jsonl"
    setup_logging("WARNING", path, console=False, serialize=True)
    try:
        trace_log.trace(trace_log.DEBUG, "bot.outbox:enqueue", "outbox: queued", outbox_id=7)
        drain_logs()
    finally:
        setup_logging("WARNING", None, console=False)
    record = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])["record"]
    assert record["message"] == "outbox: queued" and record["extra"] == {"outbox_id": "7"}
    assert (record["name"], record["function"], record["level"]["name"]) == ("bot.outbox", "enqueue", "DEBUG")


def test_sinks_take_only_the_levels_they_want(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    setup_logging("WARNING", tmp_path / "x.log")  # console at WARNING, file at DEBUG
    try:
        assert trace_log.wanted(trace_log.DEBUG)
        trace_log.trace(trace_log.INFO, "bot.inbound:record", "inbound quiet")
        drain_logs()
    finally:
        setup_logging("WARNING", None, console=False)
    assert "inbound quiet" not in capsys.readouterr().err
    assert "inbound quiet" in (tmp_path / "x.log").read_text(encoding="utf-8")
    assert not trace_log.wanted(trace_log.INFO)  # no sink left that takes INFO


def _count_loguru_records(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every loguru record built from now on, as it is built (the list fills as they come)."""
    calls: list[str] = []
    original = type(logger)._log

    def counting(self: Any, level: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"{level} {args}")
        return original(self, level, *args, **kwargs)

    monkeypatch.setattr(type(logger), "_log", counting)
    return calls


async def test_chatter_builds_no_loguru_record_on_the_loop(
    make_app: AppFactory, clock: Any, log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, transport = make_app()
    await transport.inject(group_message("大家好", "u0", at=clock.now()))  # first use loads the FAQ tokenizer
    calls = _count_loguru_records(monkeypatch)
    await transport.inject(group_message("今天天气真好", "u1", at=clock.now()))
    await transport.inject(private_message("在吗", "u2", at=clock.now()))
    assert calls == []
    drain_logs()
    text = log_file.read_text(encoding="utf-8")
    assert "inbound " in text and ": 今天天气真好" in text and "inbound private: 在吗" in text


async def test_a_fan_out_of_replaced_posts_and_moderation_lines_builds_no_loguru_record(
    make_app: AppFactory, clock: Any, log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sell-out rolls the stock post of every open group (1,000 replaces in one loop step: half
    of its 15-27 ms went to loguru records, docs/performance.md); a flood of violations logs a
    moderation line each. Both are per-message lines: a queue put, read in the file as before."""
    from handlers.moderation import audit

    app, transport = make_app()
    outbox = app.services.outbox
    ids = [outbox.enqueue(f"库存 {n}", group_id=f"g{n}", kind="stock", delay=60) for n in range(3)]
    calls = _count_loguru_records(monkeypatch)
    assert all(outbox.replace(row_id, "草莓 售罄") for row_id in ids)
    audit.record(app.services, "g1", "u9", "warn", clock.now(), rule="flood")
    assert calls == []
    await transport.inject(group_message("/stock", "u1", at=clock.now()))  # a leader's command: refused
    assert not [call for call in calls if "refused" in call]  # (the simulator's send logs its own line)
    drain_logs()
    text = log_file.read_text(encoding="utf-8")
    assert text.count("outbox: replaced queued") == 3
    assert "moderation: warn (flood) by bot" in text
    assert "dispatch: /stock refused" in text
