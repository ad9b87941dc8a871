"""Q&A (常见问题解答): answer members' questions from the FAQ, and stay silent otherwise.

Entries come from the group's campaigns (`faq:` in a campaign file), the
group-wide `data/faq.yaml`, and what leaders add with `/faq add 问题 | 答案`.
Matching and its threshold are in `handlers.faq.matching`. This handler runs last
(lowest priority), so orders, coupon keywords and grabs are never mistaken for
questions. The same answer is not posted twice in a group within a minute, and
one member gets at most one answer per `MEMBER_COOLDOWN`. Questions addressed
to the bot (an @, or ending in ？/?) that match nothing are logged for the
leaders (`/faq unanswered`).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App

from bot.campaign.active import campaigns_in_group
from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import command, on_message
from bot.vocab import Priority, Role
from handlers.faq.matching import (
    FaqItem,
    FaqMatcher,
    items_from_entries,
    load_faq_file,
    load_tokenizer,
    tokenizer_ready,
)
from handlers.faq.store import FaqStore

DEFAULT_FAQ_FILE = Path(__file__).resolve().parents[2] / "data" / "faq.yaml"
FAQ_FILE = "data/faq.yaml"
GROUP_COOLDOWN = timedelta(seconds=60)
MEMBER_COOLDOWN = timedelta(seconds=30)
MAX_QUESTION_CHARS = 200
MAX_ANSWER_CHARS = 1000
STATE_KEY = "faq"
ADD_RE = re.compile(r"^\s*\S+\s+(?P<question>.+?)\s*[|｜]\s*(?P<answer>.+?)\s*$", re.DOTALL)


@dataclass
class FaqState:
    """Per-app FAQ state: cached matchers, file items, cooldowns (in memory; a restart clears cooldowns)."""

    file_items: list[FaqItem] = field(default_factory=list)
    file_stamp: tuple[str, float] | None = None
    custom_version: dict[str, int] = field(default_factory=dict)
    matchers: dict[str, tuple[tuple[object, ...], FaqMatcher]] = field(default_factory=dict)
    answered_in_group: dict[tuple[str, str], datetime] = field(default_factory=dict)
    answered_member: dict[tuple[str, str], datetime] = field(default_factory=dict)


def state_of(services: Services) -> FaqState:
    state = services.features.get(STATE_KEY)
    if not isinstance(state, FaqState):
        state = FaqState()
        services.features[STATE_KEY] = state
    return state


def faq_file(services: Services) -> Path:
    """`data/faq.yaml` beside the config, else the one shipped with the bot."""
    configured = services.config.path(FAQ_FILE)
    return configured if configured.exists() else DEFAULT_FAQ_FILE


def _file_items(services: Services, state: FaqState) -> list[FaqItem]:
    path = faq_file(services)
    stamp = (str(path), path.stat().st_mtime if path.exists() else 0.0)
    if stamp != state.file_stamp:
        state.file_items = load_faq_file(path)
        state.file_stamp = stamp
    return state.file_items


def matcher_for(services: Services, group_id: str) -> FaqMatcher:
    """The group's matcher, rebuilt when a campaign reloads, the file changes or a leader adds an entry."""
    state = state_of(services)
    file_items = _file_items(services, state)
    campaigns = [a.campaign for a in campaigns_in_group(services, group_id)]
    signature = (state.file_stamp, state.custom_version.get(group_id, 0), *(id(c) for c in campaigns))
    cached = state.matchers.get(group_id)
    if cached is not None and cached[0] == signature:
        return cached[1]
    items: list[FaqItem] = []
    for campaign in campaigns:
        items += items_from_entries(campaign.faq, "campaign", f"campaign:{campaign.id}")
    items += file_items
    store = FaqStore(services.repo.engine)
    custom = [FaqItem(f"custom:{i}", q, a, source="leader") for i, q, a in store.custom(group_id)]
    matcher = FaqMatcher(leader_first(items, custom))
    state.matchers[group_id] = (signature, matcher)
    return matcher


def leader_first(shipped: list[FaqItem], custom: list[FaqItem]) -> list[FaqItem]:
    """The group's items, where a leader's entry replaces each shipped entry asking the same question.

    A leader who adds `能开发票吗 | 本群不开发票` for their group means to replace the
    shipped answer to that question there, not to compete with it on score (the
    shipped entry, with its keywords and examples, would usually win). So an entry
    from a campaign or `data/faq.yaml` phrased like the leader's question
    (`FaqMatcher.same_question`: 可以开发票吗, not 在哪里提货 for 周日下雨还能提货吗) is
    dropped from this group's matcher, and the leader's entry inherits its keywords
    and phrasings, so it is given wherever the shipped answer would have been.
    Other groups keep the shipped entry.
    """
    if not custom or not shipped:
        return shipped + custom
    probe = FaqMatcher(shipped)
    shadowed: set[str] = set()
    merged: list[FaqItem] = []
    for item in custom:
        for old in probe.same_question(item.question):
            shadowed.add(old.key)
            item = replace(
                item,
                keywords=tuple(dict.fromkeys((*item.keywords, *old.keywords))),
                examples=tuple(dict.fromkeys((*item.examples, old.question, *old.examples))),
            )
        merged.append(item)
    return [item for item in shipped if item.key not in shadowed] + merged


def _without_bot_mention(text: str, services: Services) -> str:
    for name in (services.config.bot.name, services.config.bot.id):
        text = text.replace(f"@{name}", " ")
    return text.strip()


def _cooling(
    seen: dict[tuple[str, str], datetime], key: tuple[str, str], now: datetime, period: timedelta
) -> bool:
    last = seen.get(key)
    return last is not None and now - last < period


@on_message(priority=Priority.CHATTER)
async def handle_question(msg: GroupMessage, ctx: Context) -> bool:
    """Answer a question from the FAQ when confident; log unanswered questions put to the bot."""
    if len(msg.text) > MAX_QUESTION_CHARS:
        return False
    text = _without_bot_mention(msg.text, ctx.services)
    if not tokenizer_ready():
        await asyncio.to_thread(load_tokenizer)  # a second of dictionary loading, off the event loop
    matcher = matcher_for(ctx.services, msg.group_id)
    match = matcher.match(text, addressed=msg.mentions_bot)
    now = ctx.clock.now()
    if match is None:
        if msg.mentions_bot or text.endswith(("?", "？")):
            FaqStore(ctx.repo.engine).log_unanswered(msg.group_id, msg.sender.id, msg.sender.name, text, now)
        return False
    state = state_of(ctx.services)
    group_key, member_key = (msg.group_id, match.item.key), (msg.group_id, msg.sender.id)
    if _cooling(state.answered_in_group, group_key, now, GROUP_COOLDOWN) or _cooling(
        state.answered_member, member_key, now, MEMBER_COOLDOWN
    ):
        return True
    state.answered_in_group[group_key] = now
    state.answered_member[member_key] = now
    ctx.reply(
        "faq/answer.j2",
        mention=True,
        name=msg.sender.name,
        question=match.item.question,
        answer=match.item.answer,
        priority=Priority.CHATTER,
        kind="faq",
    )
    return True


@command("faq", "问答", role=Role.LEADER)
async def handle_faq(msg: GroupMessage, ctx: Context) -> None:
    """/faq add 问题 | 答案、/faq unanswered、/faq list、/faq del 编号 — 管理常见问题（团长）"""
    action = ctx.args[0].lower() if ctx.args else ""
    store = FaqStore(ctx.repo.engine)
    if action == "add":
        match = ADD_RE.match(ctx.command.raw_args if ctx.command else "")
        if match is None:
            ctx.usage()
            return
        question, answer = match.group("question").strip(), match.group("answer").strip()
        if len(question) > MAX_QUESTION_CHARS or len(answer) > MAX_ANSWER_CHARS:
            ctx.usage()
            return
        entry_id = store.add(msg.group_id, question, answer, msg.sender.id, ctx.clock.now())
        _changed(ctx.services, msg.group_id)
        ctx.reply(
            "faq/added.j2", entry_id=entry_id, question=question, answer=answer, priority=Priority.COMMAND
        )
    elif action == "unanswered":
        # Members' own words (phone numbers, addresses…): privately to the leader who asked, never the group.
        ctx.send_private(
            msg.sender.id,
            "faq/unanswered.j2",
            group_name=ctx.repo.group_name(msg.group_id),
            questions=store.unanswered(msg.group_id),
            priority=Priority.COMMAND,
        )
    elif action == "list":
        matcher = matcher_for(ctx.services, msg.group_id)
        counts: dict[str, int] = {}
        for item in matcher.items:
            counts[item.source] = counts.get(item.source, 0) + 1
        ctx.reply("faq/list.j2", counts=counts, custom=store.custom(msg.group_id), priority=Priority.COMMAND)
    elif action == "del" and len(ctx.args) == 2 and ctx.args[1].isdigit():
        removed = store.remove(msg.group_id, int(ctx.args[1]))
        _changed(ctx.services, msg.group_id)
        ctx.reply("faq/removed.j2", entry_id=int(ctx.args[1]), removed=removed, priority=Priority.COMMAND)
    else:
        ctx.usage()


async def warm_up(app: object) -> None:
    """Start-up hook: load jieba's dictionary (about 0.7 s) before the first question, not during it."""
    await asyncio.to_thread(load_tokenizer)


def setup(app: App) -> None:
    """Called by `App.build`: warm the tokenizer when the bot starts."""
    app.startup_hooks.append(warm_up)


def _changed(services: Services, group_id: str) -> None:
    state = state_of(services)
    state.custom_version[group_id] = state.custom_version.get(group_id, 0) + 1
