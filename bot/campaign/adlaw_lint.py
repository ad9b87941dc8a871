"""The 广告法 lint of a campaign file: every text an admin wrote, each hit at its line and column.

Everything the bot posts from a campaign file reaches hundreds of members as the operator's own
advertising, so every admin-written text is checked (:func:`bot.compliance.adlaw.check`): the
title, product names and descriptions, preheat / red-packet / opening / broadcast / closing /
follow-up texts, the next-campaign preview, FAQ questions and answers, and coupon and red-packet
keywords (posts quote them). ``template:`` files are the bot's own and not checked here.

Fake urgency needs the moment a text is sent: a preheat post at T-3d saying 「最后一天」 is false
when the sale closes four days later. Each timed text is checked against how long the sale stays
open after it is sent (broadcasts: from the first one); texts with no fixed moment (products, FAQ)
may be shown any day, so any urgency claim in them is refused. When the file does not validate,
times are unknown and only the timed texts skip the urgency check.

Allowed words: the campaign's own ``adlaw:`` section plus config.yaml's ``adlaw:`` (all groups),
each allow with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from bot.campaign.models import Campaign, FollowupPost, PreheatPost, RedPacketBurst
from bot.campaign.positions import Loc, Position, Positions
from bot.campaign.problems import Issue
from bot.compliance.adlaw import Hit, check
from bot.config import AdlawSettings

__all__ = ["adlaw_issues", "campaign_texts"]

_LISTS: dict[str, tuple[str, ...]] = {
    "products": ("name", "description"),
    "preheat": ("text",),
    "red_packets": ("text", "keyword"),
    "followups": ("text",),
    "faq": ("question", "answer"),
    "coupons": ("keyword",),
}
_SECTIONS: dict[str, tuple[str, ...]] = {
    "open": ("text",),
    "broadcasts": ("text",),
    "close": ("text", "next_preview"),
    "poster": ("thanks",),
    "gifts": ("gift",),
    "reopen": ("recommend",),
}


def campaign_texts(data: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
    """Every admin-written text of a (raw) campaign file, with its path in the file."""
    if isinstance(data.get("title"), str):
        yield ("title",), data["title"]
    for section, keys in _LISTS.items():
        items = data.get(section)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict):
                yield from (((section, index, k), item[k]) for k in keys if isinstance(item.get(k), str))
    for section, keys in _SECTIONS.items():
        item = data.get(section)
        if isinstance(item, dict):
            yield from (((section, k), item[k]) for k in keys if isinstance(item.get(k), str))
    broadcasts = data.get("broadcasts")
    messages = broadcasts.get("messages") if isinstance(broadcasts, dict) else None
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and isinstance(message.get("text"), str):
            yield ("broadcasts", "messages", index, "text"), message["text"]


def _sent_at(campaign: Campaign, loc: Loc) -> datetime | None:
    """When the text at ``loc`` is (first) sent, or None when it may be shown at any time."""
    section = loc[0]
    if section in ("preheat", "red_packets", "followups") and isinstance(loc[1], int):
        posts: dict[str, Sequence[PreheatPost | RedPacketBurst | FollowupPost]] = {
            "preheat": campaign.preheat,
            "red_packets": campaign.red_packets,
            "followups": campaign.followups,
        }
        return campaign.resolve(posts[section][loc[1]].at)
    if section == "open":
        return campaign.opens_at
    if section == "close":
        return campaign.closes_at
    if section == "broadcasts" and loc[1] == "messages" and isinstance(loc[2], int):
        return campaign.resolve(campaign.broadcasts.messages[loc[2]].at)
    if section == "broadcasts":
        broadcasts = campaign.broadcasts
        moments = [campaign.resolve(at) for at in broadcasts.at]
        if broadcasts.every is not None:
            moments.append(campaign.opens_at + broadcasts.every)
        return min(moments, default=campaign.opens_at)
    return None


def _timing(campaign: Campaign | None, loc: Loc) -> tuple[timedelta | None, bool]:
    """``(closes_in, urgency)`` for :func:`check`."""
    timed = loc[0] in ("preheat", "red_packets", "followups", "open", "close", "broadcasts")
    if not timed:
        return None, True
    if campaign is None:
        return None, False
    sent = _sent_at(campaign, loc)
    return (campaign.closes_at - sent if sent is not None else None), True


def _own_settings(data: dict[str, Any], campaign: Campaign | None) -> AdlawSettings:
    if campaign is not None:
        return campaign.adlaw
    try:  # the file has other problems; its own allow entries still count if they are well formed
        return AdlawSettings.model_validate(data.get("adlaw") or {})
    except ValidationError:
        return AdlawSettings()


def _offset(lines: list[str], position: Position) -> int:
    line, column = position
    return sum(len(row) for row in lines[: line - 1]) + column - 1


def _position(lines: list[str], offset: int) -> Position:
    for number, row in enumerate(lines, start=1):
        if offset < len(row):
            return number, offset + 1
        offset -= len(row)
    return len(lines) or 1, 1


def _hit_position(source: str, lines: list[str], value_at: Position, text: str, hit: Hit) -> Position:
    """Where ``hit`` is in the file: its occurrence after the value's start, else the value's start."""
    occurrence = text[: hit.start].count(hit.word)
    start = _offset(lines, value_at)
    limit = start + 2 * len(text) + 200  # stay inside this value (quotes, folding and escapes aside)
    at = source.find(hit.word, start, limit)
    for _ in range(occurrence):
        if at < 0:
            break
        at = source.find(hit.word, at + len(hit.word), limit)
    return _position(lines, at) if at >= 0 else value_at


def adlaw_issues(
    data: dict[str, Any],
    campaign: Campaign | None,
    settings: AdlawSettings | None,
    source: str,
    positions: Positions,
) -> list[Issue]:
    """One issue per forbidden claim in the campaign's texts, each at the claim's own column."""
    own = _own_settings(data, campaign)
    common = settings or AdlawSettings()
    allow, extra = [*common.allow, *own.allow], [*common.extra, *own.extra]
    lines = source.splitlines(keepends=True)
    issues = []
    for loc, text in campaign_texts(data):
        closes_in, urgency = _timing(campaign, loc)
        hits = check(text, allow=allow, extra=extra, closes_in=closes_in, urgency=urgency)
        for hit in hits:
            position = _hit_position(source, lines, positions.value(loc), text, hit)
            issues.append(Issue(loc, hit.message(), pos=position))
    return issues
