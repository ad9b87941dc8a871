"""`tuanbot member export|forget ID` on a real SQLite file with data from several features (issue 16).

alice claims a coupon, grabs a red packet, orders with a remark (her room and phone), asks an
unanswered question, writes to the bot privately, picks a pickup point, gets a pickup code at
the close and is marked paid. Export finds all of it; forget keeps her orders and payments
(quantities and amounts) under a pseudonym and erases the rest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.member_data import export, forget
from bot.schema import all_tables
from handlers.fulfilment.payment_tables import PAYMENTS
from handlers.selling.tables import ORDERS
from tests.commerce.selling_kit import Shop
from tests.factories import private_message
from tests.fakes import FakeClock
from tests.fulfilment.payment_kit import close, mention, orders, shop_for

REPO = Path(__file__).resolve().parents[1]
ALICE = "alice"
PERSONAL = ("王阿姨", "3栋502", "13812345678", "明天几点取货呢亲")


async def alice_everywhere(tmp_path: Path, clock: FakeClock) -> Shop:
    shop = shop_for(tmp_path, clock)
    await orders(shop)  # coupon, red packet, A1×2 as 王阿姨; bob and carol order too
    await shop.say("A1 1 备注 3栋502 电话13812345678", ALICE, name="王阿姨")
    await shop.say("自提 东门", ALICE, name="王阿姨")
    await shop.say("明天几点取货呢亲", ALICE, name="王阿姨")
    await shop.transport.inject(private_message("我的订单", ALICE, at=clock.now()))
    await close(shop)
    await mention(shop, "/paid @alice", "lily", (ALICE,))
    await shop.app.services.settle()
    await shop.app.services.outbox.flush()
    return shop


def tuanbot(tmp_path: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.yaml"
    if not config.exists():
        config.write_text(
            f"admins: [admin]\ndatabase:\n  url: sqlite:///{tmp_path / 'tuanbot.db'}\nexports_dir: {tmp_path / 'exports'}\n"
            f"campaigns_dir: {tmp_path / 'none'}\n",
            encoding="utf-8",
        )
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "member", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        input=input,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(tmp_path)},
    )


async def test_export_finds_every_table_that_names_the_member(tmp_path: Path, clock: FakeClock) -> None:
    shop = await alice_everywhere(tmp_path, clock)
    data = export(shop.app.services.repo.engine, ALICE)
    for table in (
        "members",
        "memberships",
        "orders",
        "order_remarks",
        "order_pickups",
        "engagement_coupons",
        "engagement_redpacket_grabs",
        "pickup_codes",
        "payments",
        "inbound_messages",
        "outbox",
    ):
        assert table in data.tables, (table, sorted(data.tables))
    dumped = json.dumps(data.tables, ensure_ascii=False)
    assert "3栋502" in dumped and "王阿姨" in dumped
    assert "bob" not in {row.get("member_id") for rows in data.tables.values() for row in rows}
    # every table with a member column was asked (a new feature's table is found the same way)
    member_tables = {t.name for t in all_tables() if {"member_id", "sender_id"} & set(t.columns.keys())}
    assert member_tables & set(data.tables) >= {"orders", "payments", "inbound_messages"}


async def test_forget_keeps_transactions_under_a_pseudonym_and_erases_the_rest(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await alice_everywhere(tmp_path, clock)
    engine = shop.app.services.repo.engine
    with engine.connect() as conn:
        before = conn.execute(
            select(ORDERS.c.product_code, ORDERS.c.quantity, ORDERS.c.unit_price_cents).where(
                ORDERS.c.member_id == ALICE
            )
        ).all()
        paid_before = conn.execute(select(PAYMENTS.c.paid_cents).where(PAYMENTS.c.member_id == ALICE)).all()
    reports = {r.table: r for r in forget(engine, ALICE, pseudonym="forgotten-test")}
    assert reports["orders"].pseudonymised == len(before) and reports["orders"].deleted == 0
    assert reports["order_remarks"].deleted == 1 and reports["inbound_messages"].deleted >= 3
    assert reports["members"].deleted == 1
    assert export(engine, ALICE).tables == {}  # nothing names her any more
    with engine.connect() as conn:
        after = conn.execute(
            select(
                ORDERS.c.product_code, ORDERS.c.quantity, ORDERS.c.unit_price_cents, ORDERS.c.member_name
            ).where(ORDERS.c.member_id == "forgotten-test")
        ).all()
        paid_after = conn.execute(
            select(PAYMENTS.c.paid_cents).where(PAYMENTS.c.member_id == "forgotten-test")
        ).all()
    assert sorted(r[:3] for r in after) == sorted(before) and {r[3] for r in after} == {""}
    assert paid_after == paid_before
    everything = json.dumps(export(engine, "forgotten-test").tables, ensure_ascii=False)
    for secret in PERSONAL:
        assert secret not in everything, secret
    assert export(engine, "bob").tables["orders"]  # others are untouched


async def test_the_commands_export_to_a_file_ask_before_forgetting_and_report(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = await alice_everywhere(tmp_path, clock)
    await shop.app.services.outbox.flush()
    result = tuanbot(tmp_path, "export", ALICE)
    assert result.returncode == 0, result.stderr
    [written] = (tmp_path / "exports").glob("member-alice-*.json")
    assert str(written) in result.stdout and "orders" in result.stdout
    # Stamped in the bot's timezone like the lists' files, not in UTC (session 38's README walk).
    stamped = datetime.strptime(
        written.stem.rsplit("-", 2)[1] + written.stem.rsplit("-", 1)[1], "%Y%m%d%H%M%S"
    )
    local_now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert abs((local_now - stamped).total_seconds()) < 120, written.name
    assert json.loads(written.read_text(encoding="utf-8"))["member_id"] == ALICE
    refused = tuanbot(tmp_path, "forget", ALICE, input="n\n")
    assert refused.returncode == 1 and "nothing changed" in refused.stdout
    done = tuanbot(tmp_path, "forget", ALICE, "--yes")
    assert done.returncode == 0, done.stderr
    assert "order_remarks" in done.stdout and "deleted" in done.stdout and "pseudonymised" in done.stdout
    again = tuanbot(tmp_path, "export", ALICE)
    assert again.returncode == 1 and "nothing is stored" in again.stderr


@pytest.mark.parametrize("command", ["export", "forget"])
def test_help_and_a_missing_id(tmp_path: Path, command: str) -> None:
    shown = tuanbot(tmp_path, command, "--help")
    assert shown.returncode == 0 and "member" in shown.stdout
    missing = tuanbot(tmp_path, command)
    assert missing.returncode == 2 and "member_id" in (missing.stderr + missing.stdout).lower()


async def test_forget_refuses_while_the_bot_runs_before_asking(tmp_path: Path, clock: FakeClock) -> None:
    """It asked "Erase…? [y/N]" first and refused only after a yes (session 38's second walk)."""
    from bot.storage.lease import ProcessLeaseHolder

    shop = await alice_everywhere(tmp_path, clock)
    await shop.app.services.outbox.flush()
    running = ProcessLeaseHolder(shop.app.services.repo.engine)  # the bot's lease, as `run` takes it
    running.acquire()
    try:
        refused = tuanbot(tmp_path, "forget", ALICE, input="y\n")
    finally:
        running.release()
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "Erase" not in refused.stdout and "while the bot runs" in refused.stderr
    assert export(shop.app.services.repo.engine, ALICE).tables  # nothing was erased
