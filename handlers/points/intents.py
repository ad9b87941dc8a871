"""Which messages are 签到, 我的积分, 积分抵扣 or 不用积分, decided from memory (the handlers' matchers).

The matchers run on the event loop for every message, chatter included: a length check, the
view's normalised text (`MessageView.core`, shared with the other matchers) and a set lookup.
No clock, no query; a message that is neither costs nothing more.
"""

from __future__ import annotations

from enum import Enum

from bot.events import Event
from bot.view import MessageView

CHECKIN_WORDS = frozenset({"签到", "打卡", "每日签到", "签到打卡", "今日签到", "今日打卡"})
MY_POINTS_WORDS = frozenset({"我的积分", "查积分", "积分查询", "查询积分", "积分"})
REDEEM_ON_WORDS = frozenset({"积分抵扣", "用积分", "使用积分", "用积分抵扣", "积分抵现", "开启积分抵扣"})
REDEEM_OFF_WORDS = frozenset({"不用积分", "不使用积分", "取消积分抵扣", "关闭积分抵扣", "积分不抵扣"})
LONGEST = 12
"""A longer message is never one of these (the words above, with room for punctuation)."""


class Ask(Enum):
    """What a member asked of the points feature."""

    CHECKIN = "checkin"
    MY_POINTS = "my_points"
    REDEEM_ON = "redeem_on"
    REDEEM_OFF = "redeem_off"


def _said(view: MessageView, words: frozenset[str]) -> bool:
    return len(view.text) <= LONGEST and view.core in words


def match_checkin(event: Event, view: MessageView) -> Ask | None:
    """签到 / 打卡 (with punctuation or emoji around it), while points and check-in are on."""
    settings = view.services.config.points
    if not settings.enabled or settings.checkin <= 0 or not _said(view, CHECKIN_WORDS):
        return None
    return Ask.CHECKIN


def match_my_points(event: Event, view: MessageView) -> Ask | None:
    """我的积分 and its variants, while points are on."""
    if not view.services.config.points.enabled or not _said(view, MY_POINTS_WORDS):
        return None
    return Ask.MY_POINTS


def match_redeem_on(event: Event, view: MessageView) -> Ask | None:
    """积分抵扣 and its variants (opt in to points redemption), while points are on."""
    if not view.services.config.points.enabled or not _said(view, REDEEM_ON_WORDS):
        return None
    return Ask.REDEEM_ON


def match_redeem_off(event: Event, view: MessageView) -> Ask | None:
    """不用积分 and its variants (opt out), while points are on."""
    if not view.services.config.points.enabled or not _said(view, REDEEM_OFF_WORDS):
        return None
    return Ask.REDEEM_OFF
