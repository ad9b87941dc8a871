"""Group chatter for the benchmarks, and the two ways a transport delivers it.

The corpus is realistic community group-buying chat (~55% chatter, 15%
questions, 20% order forms, 5% commands, 5% keywords) from active and quiet
members. Delivery is one message at a time, as the wechaty adapter's worker
does: await the app's inbound path, then yield to the event loop (a socket
read would). `serial` goes as fast as the app takes them; `paced` offers a
fixed rate and measures latency from each message's scheduled arrival, so
queueing behind a slow message counts.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bench.common import Bot, Progress, group_name, percentile
from bot.events import GroupMessage, Member

N_MEMBERS = 50_000
REPLY_WAIT_SECONDS = 0.5  # after the last message: replies queued after a commit still count

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
NICKS = ("姐", "阿姨", "哥", "妈妈", "宝妈", "叔", "小妹", "老师", "🌸", "✨", "(3栋)", "(12-302)")

CHATTER = (
    "今天的草莓真甜，孩子吃了还想要",
    "收到",
    "谢谢团长[抱拳]",
    "哈哈哈哈哈",
    "早上好☀️",
    "[强][强][强]",
    "楼下快递站几点关门啊？",
    "昨天的橙子不错，汁很多，下次还买",
    "好的",
    "👍",
    "团长辛苦了🌹",
    "有没有人一起拼车去自提点",
    "我家娃就爱吃芒果🥭",
    "这周末下雨吗，出门记得带伞",
    "已付款",
    "在吗",
    "老板大气！",
    "上次买的苹果脆甜，推荐大家",
    "刚到家，明天再去拿",
    "群里好热闹啊",
    "有人知道小区门口新开的那家面馆怎么样吗？听说牛肉面不错，想周末带孩子去尝尝",
    "物业说明天上午停水，大家提前接点水哦～",
    "[图片]",
    "[表情]",
    "晚安🌙",
)
QUESTIONS = (
    "什么时候可以自提？",
    "在哪里提货",
    "草莓还有货吗",
    "可以送货上门吗",
    "坏果怎么办",
    "怎么下单",
    "优惠券怎么用",
    "脐橙甜不甜",
    "能开发票吗",
    "啥时候能取货呀",
    "团长，今天几点开团呀？",
    "满减怎么算",
)
COMMANDS = (
    "/help",
    "/帮助",
    "/whoami",
    "/help campaign",
    "/campaign list",
    "/stock",
    "/订单",
    "／ｈｅｌｐ",
)
KEYWORDS = ("草莓券", "抢", "抢红包", "我的订单")


def _member_id(index: int) -> str:
    return f"wxid_{(index * 2_654_435_761) % 10**12:012d}"


def _member_name(rng: random.Random, index: int) -> str:
    return SURNAMES[index % len(SURNAMES)] + NICKS[(index // len(SURNAMES)) % len(NICKS)]


def _order_text(rng: random.Random, name: str, n: int) -> str:
    code, qty = f"A{rng.randint(1, 5)}", rng.randint(1, 3)
    shape = rng.random()
    if shape < 0.35:
        return f"接龙 {code} {qty}"
    if shape < 0.65:
        return f"{code} {qty}"
    if shape < 0.75:
        return f"{code}×{qty}"
    if shape < 0.85:
        return f"{n}. {name} {code} {qty}"
    if shape < 0.95:
        return f"接龙 {code} {qty} A{rng.randint(1, 5)} 1"
    return "+1"


def make_messages(
    count: int, *, seed: int, prefix: str, groups: list[str], members: int = N_MEMBERS
) -> list[GroupMessage]:
    """`count` group messages: ~55% chatter, 15% questions, 20% orders, 5% commands, 5% keywords."""
    rng = random.Random(seed)
    n_groups = len(groups)
    names = {i: _member_name(rng, i) for i in range(members)}
    now = datetime.now(UTC)
    messages: list[GroupMessage] = []
    for n in range(count):
        # Active members say most: 70% of messages come from a fifth of them.
        who = rng.randrange(members // 5) if rng.random() < 0.7 else rng.randrange(members)
        home = who % n_groups
        gi = home if rng.random() < 0.9 else rng.randrange(n_groups)
        kind = rng.random()
        mentions: tuple[str, ...] = ()
        if kind < 0.55:
            text = rng.choice(CHATTER)
            if rng.random() < 0.05:
                other = rng.randrange(members)
                text = f"@{names[other]} {text}"
                mentions = (_member_id(other),)
        elif kind < 0.70:
            text = rng.choice(QUESTIONS)
        elif kind < 0.90:
            text = _order_text(rng, names[who], n % 200 + 1)
        elif kind < 0.95:
            text = rng.choice(COMMANDS)
        else:
            text = rng.choice(KEYWORDS)
        messages.append(
            GroupMessage(
                message_id=f"{prefix}{n:07d}",
                group_id=groups[gi],
                sender=Member(_member_id(who), names[who]),
                text=text,
                time=now,
                mentions=mentions,
                group_name=group_name(gi),
            )
        )
    return messages


def arrived(event: GroupMessage) -> GroupMessage:
    """The message stamped with the time it arrives, as the wechaty adapter stamps a message with
    the server's time for it. The corpus is made before the run, so its own stamp is only a
    placeholder: a whole run stamped with one instant would read to moderation as every active
    member flooding (more than 8 messages in 10 s), which a real stream at these rates is not."""
    return replace(event, time=datetime.now(UTC))


def _ms(values: list[float], q: float) -> float:
    return percentile(values, q) * 1000


async def serial(bot: Bot, messages: list[GroupMessage], max_seconds: float, label: str) -> dict[str, Any]:
    """As fast as the app takes them, one at a time; stops at `max_seconds` (a sample of a slow app).

    A message that goes on in the background (it waits for a thread: `bot/lanes.py`) returns no
    result to the transport, so `handled_by` counts it as "none"; its reply is still metered."""
    progress = Progress(label, len(messages), unit="msg")
    handled: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    latencies: list[float] = []
    bot.meter.clear()
    started = time.perf_counter()
    deadline = started + max_seconds
    for n, placeholder in enumerate(messages):
        if n % 50 == 0 and time.perf_counter() > deadline:
            break
        event = arrived(placeholder)
        receipt = time.perf_counter()
        result = await bot.deliver(event, receipt)
        latencies.append(time.perf_counter() - receipt)
        handled[getattr(result, "handled_by", None) or "none"] += 1
        failed.update(getattr(result, "failed", ()) or ())
        await asyncio.sleep(0)  # the transport reads the next message from a socket: the loop runs
        if n % 1000 == 0:
            progress.tick(n, f"(outbox queue {bot.pending():,})")
    elapsed = time.perf_counter() - started
    replies = list(bot.meter.first.values())
    # Percentiles of 200,000 samples sort for tens of ms: in a thread, not counted as the app's stall.
    p50, p99, r50, r99 = await asyncio.to_thread(
        lambda: (_ms(latencies, 50), _ms(latencies, 99), _ms(replies, 50), _ms(replies, 99))
    )
    return {
        "messages": len(latencies),
        "offered": len(messages),
        "time_capped": len(latencies) < len(messages),
        "seconds": elapsed,
        "handle_p50_ms": p50,
        "handle_p99_ms": p99,
        "replies": len(replies),
        "reply_p50_ms": r50,
        "reply_p99_ms": r99,
        "handled_by": dict(handled.most_common()),
        "handler_failures": dict(failed),
    }


async def paced(
    bot: Bot,
    messages: list[GroupMessage],
    rate: float,
    *,
    grace: float,
    label: str,
    stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Offer `rate` messages/s (until `stop()` says so); latency counts from each scheduled arrival.

    If the app falls behind, the consumer gives up `grace` seconds after the last
    arrival; messages still waiting count with the time they had waited by then (a
    lower bound), so the percentiles never flatter an app that cannot keep up.
    """
    queue: asyncio.Queue[tuple[float, GroupMessage] | None] = asyncio.Queue()
    latencies: list[float] = []
    waiting: list[float] = []
    bot.meter.clear()
    progress = Progress(label, len(messages), unit="msg")
    t0 = time.perf_counter() + 0.05
    last_arrival = t0

    async def produce() -> None:
        nonlocal last_arrival
        for n, event in enumerate(messages):
            due = t0 + n / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            if stop is not None and stop():
                break
            queue.put_nowait((due, event))
            last_arrival = due
        queue.put_nowait(None)

    async def consume() -> None:
        while (item := await queue.get()) is not None:
            due, event = item
            if producer.done() and time.perf_counter() > last_arrival + grace:
                waiting.append(last_arrival + grace - due)
                continue
            await bot.deliver(arrived(event), due)
            latencies.append(time.perf_counter() - due)
            await asyncio.sleep(0)
            if len(latencies) % 200 == 0:
                progress.tick(len(latencies), f"(backlog {queue.qsize():,})")

    producer = asyncio.create_task(produce())
    await asyncio.gather(producer, consume())
    elapsed = time.perf_counter() - t0
    await asyncio.sleep(REPLY_WAIT_SECONDS)
    replies = list(bot.meter.first.values()) + waiting
    offered = len(latencies) + len(waiting)
    return {
        "offered_rate": rate,
        "offered": offered,
        "handled": len(latencies),
        "unhandled_at_deadline": len(waiting),
        "seconds": elapsed,
        "achieved_rate": len(latencies) / elapsed if elapsed else 0.0,
        "handle_p50_ms": _ms(latencies + waiting, 50),
        "handle_p99_ms": _ms(latencies + waiting, 99),
        "replies": len(bot.meter.first),
        "unattributed_posts": bot.meter.unattributed,
        "reply_p50_ms": _ms(replies, 50),
        "reply_p99_ms": _ms(replies, 99),
        "reply_max_ms": max(replies, default=0.0) * 1000,
        "p99_is_lower_bound": bool(waiting),
    }
