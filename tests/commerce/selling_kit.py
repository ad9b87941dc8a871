"""Helpers shared by the selling tests: a small campaign, an app with the campaign registry, chat."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import App
from bot.campaign.runtime import CampaignRuntime
from bot.config import Config
from bot.events import GroupMessage
from bot.startup import install_features
from handlers.selling.orders import Selling, selling
from tests.conftest import make_config
from tests.factories import group_message
from tests.fakes import FakeClock, FakeTransport

G1, G2 = "团购一群", "团购二群"
OPENS = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # 20:00 in Asia/Shanghai
CLOSES = OPENS + timedelta(hours=2)
FAR_OPENS = datetime(2037, 12, 5, 12, 0, tzinfo=UTC)  # the same Saturday, eleven years on
SHANGHAI = ZoneInfo("Asia/Shanghai")

CAMPAIGN = """\
id: t1
title: 测试鲜果团
groups: [{groups}]
opens_at: {opens_at}
closes_at: {closes_at}
products:
  - {{code: A1, name: 丹东草莓, price: 10, stock: {a1}, limit_per_member: {limit}, unit: 盒}}
  - {{code: A2, name: 赣南脐橙, price: 20.50, stock: {a2}}}
countdowns: [T-10m, T-5m, T-1m]
broadcasts:
  at: [T+30m]
  window: 60s
close:
  next_preview: 下周预告：云南蓝莓
spend_tiers:
  - {{min_spend: 30, off: 5}}
pickup_points:
  - {{name: 东门菜鸟驿站, address: 阳光花园东门12号}}
  - {{name: 南区便利店, address: 南区3栋}}
"""


def campaign_text(
    *, groups: tuple[str, ...] = (G1, G2), a1: int = 10, a2: int = 5, limit: int = 3, opens: datetime = OPENS
) -> str:
    """The campaign, open two hours from `opens` (20:00–22:00 in Shanghai on the kit's day)."""
    local = opens.astimezone(SHANGHAI)
    return CAMPAIGN.format(
        groups=", ".join(groups),
        a1=a1,
        a2=a2,
        limit=limit,
        opens_at=f"{local:%Y-%m-%d %H:%M}",
        closes_at=f"{local + (CLOSES - OPENS):%Y-%m-%d %H:%M}",
    )


class Shop:
    """An app with the campaign registry and a fake transport, plus chat helpers."""

    def __init__(
        self,
        app: App,
        transport: FakeTransport,
        clock: FakeClock,
        registry: CampaignRuntime,
        path: Path,
        opens: datetime = OPENS,
    ) -> None:
        self.app = app
        self.transport = transport
        self.clock = clock
        self.registry = registry
        self.path = path
        self.opens = opens

    @property
    def sell(self) -> Selling:
        return selling(self.app.services)

    def message(
        self, text: str, sender: str = "alice", group: str = G1, name: str | None = None
    ) -> GroupMessage:
        return group_message(text, sender, name=name, group=group, at=self.clock.now())

    async def say(
        self, text: str, sender: str = "alice", group: str = G1, name: str | None = None, drain: bool = True
    ) -> Any:
        return await self.transport.inject(self.message(text, sender, group, name), drain=drain)

    async def open(self) -> None:
        self.clock.set(self.opens)
        await self.registry.run_node("t1", "open")
        await self.drain()

    async def drain(self) -> None:
        await self.app.services.outbox.drain()

    def texts(self, group: str = G1) -> list[str]:
        return self.transport.texts(group)

    def stock(self, code: str = "A1") -> int:
        return next(line.stock for line in self.sell.store.stock("t1") if line.product_code == code)


def build_shop(
    tmp_path: Path,
    clock: FakeClock,
    *,
    db_url: str | None = None,
    text: str | None = None,
    config: Config | None = None,
    opens: datetime = OPENS,
) -> Shop:
    """`opens`: a sale run by the app's own scheduler (`App.run`) fires its nodes on the real
    clock, so such tests pass a day far ahead (`FAR_OPENS`), never a day the real clock passes."""
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir(parents=True, exist_ok=True)
    path = campaigns / "t1.yaml"
    path.write_text(text or campaign_text(opens=opens), encoding="utf-8")
    cfg = config or make_config(tmp_path, db_url=db_url)
    app = App.build(cfg, clock=clock, rng=random.Random(7))
    transport = FakeTransport(app, clock)
    registry = install_features(app, persistent_jobs=False, watch=False)
    problems = registry.load_file(path)
    assert not problems, problems
    return Shop(app, transport, clock, registry, path, opens)
