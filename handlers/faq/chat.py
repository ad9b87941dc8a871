"""Q&A (常见问题解答): answer members' questions from the FAQ, and stay silent otherwise.

Entries come from the group's campaigns (`faq:` in a campaign file), the
group-wide `data/faq.yaml`, and what leaders add with `/faq add 问题 | 答案`.
Matching and its threshold are in `handlers.faq.matching`. This handler runs last
(lowest priority), so orders, coupon keywords and grabs are never mistaken for
questions. The same answer is not posted twice in a group within a minute, and
one member gets at most one answer per `MEMBER_COOLDOWN`. Questions addressed
to the bot (an @, or ending in ？/?) that match nothing are logged for the
leaders (`/faq unanswered`). An entry a leader adds with a false-advertising claim (广告法)
is not saved, and the leader is told privately why.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import MutableMapping
from datetime import datetime, timedelta

from bot.campaign.active import campaigns_in_group
from bot.context import Context
from bot.events import GroupMessage
from bot.handler import command, on_message
from bot.vocab import Priority, Role
from handlers.faq.intent import MAX_QUESTION_CHARS, decide, match_question, matcher_for
from handlers.faq.intents import Answer, Intent, Unanswered, Undecided
from handlers.faq.matching import load_tokenizer, tokenizer_ready
from handlers.faq.memory import custom_added, custom_entries, custom_removed, state_of
from handlers.faq.store import FaqStore, unanswered_row

GROUP_COOLDOWN = timedelta(seconds=60)
MEMBER_COOLDOWN = timedelta(seconds=30)
MAX_ANSWER_CHARS = 1000
ADD_RE = re.compile(r"^\s*\S+\s+(?P<question>.+?)\s*[|｜]\s*(?P<answer>.+?)\s*$", re.DOTALL)


def _cooling(
    seen: MutableMapping[tuple[str, str], datetime], key: tuple[str, str], now: datetime, period: timedelta
) -> bool:
    last = seen.get(key)
    return last is not None and now - last < period


@on_message(priority=Priority.CHATTER, match=match_question)
async def handle_question(msg: GroupMessage, ctx: Context) -> bool:
    """Answer a question from the FAQ when confident; log unanswered questions put to the bot.

    Runs only on what `match_question` decided on the loop (an answer, or a question to log);
    chatter never reaches it.
    """
    intent: Intent | None = ctx.intent
    if isinstance(intent, Undecided):  # before the dictionary is loaded, or without the app's view
        if not tokenizer_ready():
            await asyncio.to_thread(load_tokenizer)  # a second of dictionary loading, off the event loop
        intent = decide(
            ctx.services, state_of(ctx.services), msg, campaigns_in_group(ctx.services, msg.group_id)
        )
    now = ctx.clock.now()
    if isinstance(intent, Unanswered):
        ctx.services.write_behind(
            unanswered_row(msg.group_id, msg.sender.id, msg.sender.name, intent.text, now)
        )
        return False
    if not isinstance(intent, Answer):
        return False
    item = intent.item
    state = state_of(ctx.services)
    group_key, member_key = (msg.group_id, item.key), (msg.group_id, msg.sender.id)
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
        question=item.question,
        answer=item.answer,
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
        if ctx.refused_claims("常见问题", question, answer):  # the group sees the question too
            return
        entry_id = store.add(msg.group_id, question, answer, msg.sender.id, ctx.clock.now())
        custom_added(ctx.services, msg.group_id, (entry_id, question, answer))
        ctx.reply(
            "faq/added.j2", entry_id=entry_id, question=question, answer=answer, priority=Priority.COMMAND
        )
    elif action == "unanswered":
        await ctx.services.written_behind(
            "faq: unanswered log"
        )  # the log is written behind: read it once what was queued is in
        # Members' own words (phone numbers, addresses…): privately to the leader who asked, never the group.
        ctx.send_private(
            msg.sender.id,
            "faq/unanswered.j2",
            group_name=ctx.repo.group_name(msg.group_id),
            questions=store.unanswered(msg.group_id),
            priority=Priority.COMMAND,
        )
    elif action == "list":
        matcher = matcher_for(ctx.services, msg.group_id, campaigns_in_group(ctx.services, msg.group_id))
        counts: dict[str, int] = {}
        for item in matcher.items:
            counts[item.source] = counts.get(item.source, 0) + 1
        custom = [tuple(entry) for entry in custom_entries(ctx.services, msg.group_id)]
        ctx.reply("faq/list.j2", counts=counts, custom=custom, priority=Priority.COMMAND)
    elif action == "del" and len(ctx.args) == 2 and ctx.args[1].isdigit():
        removed = store.remove(msg.group_id, int(ctx.args[1]))
        if removed:
            custom_removed(ctx.services, msg.group_id, int(ctx.args[1]))
        ctx.reply("faq/removed.j2", entry_id=int(ctx.args[1]), removed=removed, priority=Priority.COMMAND)
    else:
        ctx.usage()


async def warm_up() -> None:
    """Start-up hook: import jieba and map its dictionary (a few ms; about a second the first time on a
    machine, when the cache file is built) before the first question, not during it."""
    await asyncio.to_thread(load_tokenizer)
