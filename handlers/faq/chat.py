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
from collections.abc import MutableMapping
from dataclasses import replace
from datetime import datetime, timedelta

from loguru import logger

from bot.campaign.active import campaigns_in_group
from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import command, on_message
from bot.storage.writebehind import RowOp
from bot.vocab import Priority, Role
from handlers.faq.matching import (
    FaqItem,
    FaqMatcher,
    items_from_entries,
    load_tokenizer,
    tokenizer_ready,
)
from handlers.faq.memory import custom_changed, custom_entries, file_items, load_custom, state_of
from handlers.faq.store import FaqStore, unanswered_row

GROUP_COOLDOWN = timedelta(seconds=60)
MEMBER_COOLDOWN = timedelta(seconds=30)
MAX_QUESTION_CHARS = 200
MAX_ANSWER_CHARS = 1000
ADD_RE = re.compile(r"^\s*\S+\s+(?P<question>.+?)\s*[|｜]\s*(?P<answer>.+?)\s*$", re.DOTALL)


def matcher_for(services: Services, group_id: str) -> FaqMatcher:
    """The group's matcher, rebuilt when a campaign reloads, the file changes or a leader adds an entry.

    Its parts come from memory (`handlers.faq.memory`); a group's own entries are read here
    only if `load_custom` has not brought them in (a leader's command).
    """
    state = state_of(services)
    shipped_file = file_items(services, state)
    campaigns = tuple(a.campaign for a in campaigns_in_group(services, group_id))
    custom = custom_entries(services, group_id)
    signature = (state.file_stamp, custom, *(id(c) for c in campaigns))
    cached = state.matchers.get(signature)
    if cached is not None:
        return cached[1]
    items: list[FaqItem] = []
    for campaign in campaigns:
        items += items_from_entries(campaign.faq, "campaign", f"campaign:{campaign.id}")
    items += shipped_file
    own = [FaqItem(f"custom:{i}", q, a, source="leader") for i, q, a in custom]
    matcher = FaqMatcher(leader_first(items, own))
    state.matchers[signature] = (campaigns, matcher)  # holding the campaigns keeps their ids unique
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
    seen: MutableMapping[tuple[str, str], datetime], key: tuple[str, str], now: datetime, period: timedelta
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
    await load_custom(ctx.services, msg.group_id)  # once per group, in a worker thread
    matcher = matcher_for(ctx.services, msg.group_id)
    match = matcher.match(text, addressed=msg.mentions_bot)
    now = ctx.clock.now()
    if match is None:
        if msg.mentions_bot or text.endswith(("?", "？")):
            _log_unanswered(
                ctx.services, unanswered_row(msg.group_id, msg.sender.id, msg.sender.name, text, now)
            )
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
        await _logged(ctx.services)  # the log is written behind: read it once what was queued is in
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
        custom = [tuple(entry) for entry in custom_entries(ctx.services, msg.group_id)]
        ctx.reply("faq/list.j2", counts=counts, custom=custom, priority=Priority.COMMAND)
    elif action == "del" and len(ctx.args) == 2 and ctx.args[1].isdigit():
        removed = store.remove(msg.group_id, int(ctx.args[1]))
        _changed(ctx.services, msg.group_id)
        ctx.reply("faq/removed.j2", entry_id=int(ctx.args[1]), removed=removed, priority=Priority.COMMAND)
    else:
        ctx.usage()


async def warm_up() -> None:
    """Start-up hook: load jieba's dictionary (about 0.7 s) before the first question, not during it."""
    await asyncio.to_thread(load_tokenizer)


def _changed(services: Services, group_id: str) -> None:
    custom_changed(services, group_id)


def _log_unanswered(services: Services, row: RowOp) -> None:
    """Queue the row for the app's write-behind writer: the loop neither writes nor waits."""
    if services.inbound is not None:
        services.inbound.writer.put(row)
    else:  # a bare Services (no app): write it now
        with services.repo.engine.begin() as conn:
            conn.execute(row.statement, dict(row.params))


async def _logged(services: Services) -> None:
    """Wait (off the loop) until the queued unanswered questions are written; a failure is only logged."""
    if services.inbound is None:
        return
    try:
        await services.inbound.written()
    except Exception as exc:  # storage trouble is reported by the writer; read what is there
        logger.warning("faq: unanswered log not fully written before reading it: {}", exc)
