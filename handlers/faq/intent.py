"""The question handler's matcher: which FAQ matcher serves a group, and what its body will do.

`match_question` runs on the event loop for every group message (chatter included),
before the body: it returns an intent (`handlers.faq.intents`) only when the body will
act (answer, or log a question put to the bot that nothing answers), and None for
chatter, so chatter costs no handler body. Everything it reads is memory
(`handlers.faq.memory`, complete from the feature's setup) and the app's view of the
message; it never touches the database.

Repeated chatter (哈哈哈, 收到, 好的) is cheap: the group's last choice of matcher is
checked by the identity of what it was built from, and the decision is remembered per
matcher by the raw text. New text is scored by `FaqMatcher.match` (the exact fast screen).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.context import Services
from bot.events import GroupMessage
from handlers.faq import matching
from handlers.faq.intents import UNDECIDED, Answer, Intent, Unanswered
from handlers.faq.matching import FaqItem, FaqMatcher, items_from_entries, tokenizer_ready
from handlers.faq.memory import (
    GROUPS_REMEMBERED,
    Choice,
    Chosen,
    FaqState,
    custom_entries,
    file_items,
    state_of,
)

if TYPE_CHECKING:
    from bot.campaign.active import ActiveCampaign
    from bot.view import MessageView

MAX_QUESTION_CHARS = 200
DECISIONS_REMEMBERED = matching.MEMO_SIZE
"""Decisions remembered per matcher (the oldest goes first past this)."""


def match_question(msg: GroupMessage, view: MessageView | None) -> Intent | None:
    """What `handle_question` will do with the message, or None when it would do nothing."""
    text = msg.text
    if len(text) > MAX_QUESTION_CHARS:
        return None
    if view is None:  # no app view (a bare router): the body decides, as it always did
        return UNDECIDED
    state = view.service(FaqState)
    if state is None or not state.loaded or not tokenizer_ready():  # the body loads what is missing
        return UNDECIDED
    return decide(view.services, state, msg, view.campaigns)


def decide(
    services: Services, state: FaqState, msg: GroupMessage, campaigns: Sequence[ActiveCampaign]
) -> Intent | None:
    """The intent for `msg` in its group, from memory; jieba's dictionary must be loaded."""
    choice = _choice(services, state, msg.group_id, campaigns)
    if choice.vocabulary != matching.vocabulary():  # jieba learnt words: texts may split differently
        choice.decisions.clear()
        choice.vocabulary = matching.vocabulary()
    key = (msg.text, msg.mentions_bot)
    decisions = choice.decisions
    try:
        return decisions[key]
    except KeyError:
        pass
    text = without_bot_mention(msg.text, services)
    match = choice.matcher.match(text, addressed=msg.mentions_bot)
    intent: Intent | None
    if match is not None:
        intent = Answer(match.item, text)
    elif msg.mentions_bot or text.endswith(("?", "？")):
        intent = Unanswered(text)
    else:
        intent = None
    if len(decisions) >= DECISIONS_REMEMBERED:
        decisions.popitem(last=False)  # O(1); `del d[next(iter(d))]` rescans deleted slots
    decisions[key] = intent
    return intent


def _choice(
    services: Services, state: FaqState, group_id: str, campaigns: Sequence[ActiveCampaign]
) -> Choice:
    """The group's matcher: its last choice while nothing it was built from changed, else `choice_for`."""
    file_items(services, state)  # looks at data/faq.yaml at most once a second
    custom = state.custom.get(group_id, ()) if state.loaded else custom_entries(services, group_id)
    chosen = state.chosen.get(group_id)
    if (
        chosen is not None
        and chosen.campaigns is campaigns
        and chosen.custom is custom
        and chosen.file_stamp is state.file_stamp
    ):
        return chosen.choice
    choice = choice_for(services, group_id, campaigns)
    if group_id not in state.chosen and len(state.chosen) >= GROUPS_REMEMBERED:
        state.chosen.popitem(last=False)
    state.chosen[group_id] = Chosen(campaigns, custom, state.file_stamp, choice)
    return choice


def matcher_for(services: Services, group_id: str, campaigns: Sequence[ActiveCampaign]) -> FaqMatcher:
    """The group's matcher, rebuilt when a campaign reloads, the file changes or a leader adds an entry."""
    return choice_for(services, group_id, campaigns).matcher


def choice_for(services: Services, group_id: str, campaigns: Sequence[ActiveCampaign]) -> Choice:
    """The group's matcher with its decisions, shared by every group built from the same parts.

    Its parts come from memory (`handlers.faq.memory`): the group's campaigns, the
    group-wide file, and the group's own entries.
    """
    state = state_of(services)
    shipped_file = file_items(services, state)
    loaded = tuple(a.campaign for a in campaigns)
    custom = custom_entries(services, group_id)
    signature = (state.file_stamp, custom, *(id(c) for c in loaded))
    cached = state.matchers.get(signature)
    if cached is not None:
        return cached
    items: list[FaqItem] = []
    for campaign in loaded:
        items += items_from_entries(campaign.faq, "campaign", f"campaign:{campaign.id}")
    items += shipped_file
    own = [FaqItem(f"custom:{i}", q, a, source="leader") for i, q, a in custom]
    choice = state.matchers[signature] = Choice(loaded, FaqMatcher(leader_first(items, own)))
    return choice


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


def without_bot_mention(text: str, services: Services) -> str:
    """The text without `@<bot name>` / `@<bot id>` (the question, as it is logged and matched)."""
    for name in (services.config.bot.name, services.config.bot.id):
        text = text.replace(f"@{name}", " ")
    return text.strip()
