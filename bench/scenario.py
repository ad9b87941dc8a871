"""The scenario's shape: group ids and names, campaign files, and the event-loop stall meter.

Plain data and asyncio only: nothing here imports the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any


class Heartbeat:
    """Measures event-loop stalls: how late a task that wants to wake every `interval` actually wakes."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.max_stall = 0.0
        self.stalls_over_50ms = 0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None
        self._phase = 0  # `reset` starts a new phase

    async def _beat(self) -> None:
        # perf_counter, not the loop's clock: uvloop's counts whole milliseconds.
        while True:
            expected = time.perf_counter() + self.interval
            phase = self._phase
            await asyncio.sleep(self.interval)
            if phase != self._phase:
                # A stall that began before `reset` belongs to what ran before it: a bench that held
                # the loop itself (re-saving a hundred campaigns) and then reset read its own hold
                # as the next phase's stall.
                continue
            late = time.perf_counter() - expected
            self.samples += 1
            if late > self.max_stall:
                self.max_stall = late
            if late > 0.05:
                self.stalls_over_50ms += 1

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="bench-heartbeat")

    def reset(self) -> None:
        self.max_stall, self.stalls_over_50ms, self.samples = 0.0, 0, 0
        self._phase += 1

    @property
    def max_stall_ms(self) -> float:
        return self.max_stall * 1000

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


GROUP_NAMES = ("阳光花园", "翠湖苑", "金色家园", "梧桐里", "滨江一号", "幸福小区", "锦绣城", "东方名苑")


def group_ids(count: int) -> list[str]:
    """Wechaty-like room ids."""
    return [f"{20_000_000_000 + 7919 * i}@chatroom" for i in range(count)]


def group_name(index: int) -> str:
    return f"{GROUP_NAMES[index % len(GROUP_NAMES)]}{index // len(GROUP_NAMES) + 1}号团购群"


def tagged_groups(ids: Iterable[str], tag_of: Callable[[int], str]) -> dict[str, dict[str, Any]]:
    return {gid: {"name": group_name(i), "tags": [tag_of(i)]} for i, gid in enumerate(ids)}


def campaign_yaml(
    campaign_id: str,
    *,
    opens_at: datetime,
    closes_at: datetime,
    group_tags: list[str] | None = None,
    groups: list[str] | None = None,
    stock: int = 400,
    preheat_marks: tuple[str, ...] = ("T-2d", "T-1d"),
    countdowns: tuple[str, ...] = ("T-10m", "T-5m", "T-1m"),
    broadcasts: tuple[str, ...] = ("T+30m",),
    followups: tuple[str, ...] = ("C+14h", "C+2d"),
    open_text: str = "开团啦！回复“商品编号 数量”接龙下单，例如“A1 2”",
) -> str:
    """A campaign file: by default 10 nodes (2 preheat, 3 countdowns, open, 1 broadcast, close, 2 follow-ups)."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    lines = [
        f"id: {campaign_id}",
        f"title: 鲜果团 {campaign_id}",
        f"opens_at: '{opens_at.astimezone(UTC).strftime(fmt)}'",
        f"closes_at: '{closes_at.astimezone(UTC).strftime(fmt)}'",
    ]
    if groups:
        lines.append("groups: [" + ", ".join(f"'{g}'" for g in groups) + "]")
    if group_tags:
        lines.append("group_tags: [" + ", ".join(group_tags) + "]")
    lines += [
        "products:",
        f"  - {{code: A1, name: 丹东草莓, price: 59.90, unit: 盒, stock: {stock}, limit_per_member: 3}}",
        f"  - {{code: A2, name: 赣南脐橙, price: 39.90, unit: 箱, stock: {stock}, limit_per_member: 2}}",
        f"  - {{code: A3, name: 海南金煌芒, price: 29.90, unit: 箱, stock: {stock}}}",
        f"  - {{code: A4, name: 冰糖心苹果, price: 45.00, unit: 箱, stock: {stock}, limit_per_member: 2}}",
        f"  - {{code: A5, name: 云南蓝莓, price: 35.00, unit: 盒, stock: {stock}, limit_per_member: 4}}",
    ]
    if preheat_marks:
        lines.append("preheat:")
        for mark in preheat_marks:
            lines += [f"  - at: '{mark}'", "    text: '周末鲜果团预告，{{ title }} 即将开团'"]
    lines.append("countdowns: [" + ", ".join(f"'{m}'" for m in countdowns) + "]")
    lines.append(f"open: {{text: {open_text}}}")
    lines.append("broadcasts:")
    lines.append("  at: [" + ", ".join(f"'{m}'" for m in broadcasts) + "]")
    if followups:
        lines.append("followups:")
        lines += [f"  - {{at: '{m}', text: 水果都收到了吗？}}" for m in followups]
    return "\n".join(lines) + "\n"
