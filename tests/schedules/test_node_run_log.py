"""A node run's line per group goes as a trace line (a queue put on the event loop), not a loguru
record: a burst of 100 openings writes 10,000 of them, and loguru's were a tenth of the fan-out
lane's time. The log file reads as before: the same words, the campaign, node and group bound."""

from __future__ import annotations

import json
from pathlib import Path

from loguru import logger

from bot.logging_setup import drain_logs, setup_logging
from tests.commerce.selling_kit import G1, G2, build_shop
from tests.fakes import FakeClock


async def test_each_groups_line_reaches_the_log_file_without_a_loguru_record(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "logs" / "bot.jsonl"
    setup_logging("WARNING", path, console=False, serialize=True)
    built: list[str] = []
    probe = logger.add(lambda message: built.append(message.record["message"]), level="DEBUG")
    try:
        shop = build_shop(tmp_path, clock)
        await shop.open()
        again = await shop.registry.run_node("t1", "open")  # the job run twice (a restart)
        assert again is not None and again.duplicate == 2 and again.posted == 0
        drain_logs()
    finally:
        logger.remove(probe)
        setup_logging("WARNING", None, console=False)
    records = [json.loads(line)["record"] for line in path.read_text(encoding="utf-8").splitlines()]
    ran = {
        r["extra"]["group"]: r["message"]
        for r in records
        if r["message"].startswith("node ran") and r["extra"].get("node") == "open"
    }
    assert set(ran) == {G1, G2}
    assert all(message.endswith("message(s) queued") for message in ran.values()), ran
    assert all(
        r["extra"]["campaign"] == "t1" and r["level"]["name"] == "INFO"
        for r in records
        if "node ran" in r["message"]
    )
    repeated = [r for r in records if r["message"] == "node already ran in this group; not posted again"]
    assert sorted(r["extra"]["group"] for r in repeated) == sorted([G1, G2])
    assert not [m for m in built if m.startswith("node ran")]  # no loguru record was built for them
