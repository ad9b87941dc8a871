"""Claims whose truth depends on facts: fake urgency and invented sales figures.

A word list cannot judge 「最后一天」: it is true on the last day and false three days before.
:func:`urgency_claims` finds such claims with the time span each one asserts (「最后一天」,
「仅剩今天」, 「今天截止」: 24 hours; 「最后3小时」: 3 hours; 「明天截止」: 48 hours); the lint then
compares the span with how long the campaign really stays open when the text is sent.

:func:`sales_claims` finds sales figures typed as literal numbers (「已售10万件」, 「销量突破5000」,
「3000人已买」, 「好评率99%」). Nothing an admin or a leader types can know the figure, only the
bot's own counts can, so a literal number is refused and the template variables suggested.

Both work on folded text (:mod:`bot.compliance.adlaw_fold`): lower case, no spaces, template
variables blanked, so 「已售 {{ sold }} 件」 holds no number and passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["Claim", "sales_claims", "urgency_claims"]

_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_NUM = r"(?:[0-9]+(?:[.,][0-9]+)*|[零一二两三四五六七八九十百千万亿]+)"
_DAY = timedelta(days=1)

# 「最后一天」「仅剩今天」「今天截止」 and their kin: the sale closes within a day.
_TODAY = re.compile(
    r"最后(?:一|1)天|(?:仅剩|只剩|就剩)(?:今天|今日|今晚|最后一天)|(?:今天|今日|今晚)(?:截止|截单|结束|结团|最后一天)"
    r"|(?:明天|明日|明晚)(?:截止|截单|结束|结团)"
)
# 「最后3小时」「仅剩2天」「还剩30分钟」: the sale closes within the span named.
_SPAN = re.compile(rf"(?:最后|仅剩|只剩|就剩|还剩|倒计时)(?P<n>{_NUM})(?:个)?(?P<unit>小时|钟头|分钟|天|日)")
_UNITS = {"小时": timedelta(hours=1), "钟头": timedelta(hours=1), "分钟": timedelta(minutes=1)}

_AMOUNT = rf"{_NUM}(?:多|余)?(?:万|千|百|亿|w|k)?\+?"
_ITEMS = r"(?:件|份|单|箱|盒|斤|袋|瓶|笔|人次|人)?"
_SALES = re.compile(
    rf"(?:已售|已卖|已抢|售出|卖出|累计销售|累计售出|月销|年销|热销)(?:出|了)?(?:超过|超|近|达|高达)?{_AMOUNT}{_ITEMS}"
    rf"|销量(?:已)?(?:突破|超过|破|已达|达到|达|高达)?{_AMOUNT}{_ITEMS}"
    rf"|{_AMOUNT}(?:人|位|个家庭|家)(?:都|已|已经)?(?:在)?"
    r"(?:买|购买|下单|抢购|回购|复购|选择|抢到|好评)"
    rf"|好评率?(?:高达|超过|达)?{_NUM}%?"
)


@dataclass(frozen=True)
class Claim:
    """Where a claim is in the folded text, and the time span it asserts (None: no time)."""

    start: int
    end: int
    span: timedelta | None = None


def _number(text: str) -> int | None:
    """An integer written in digits or in simple Chinese numerals (一, 十二, 二十四), else None."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        if (tens and tens not in _CN_DIGITS) or (ones and ones not in _CN_DIGITS):
            return None
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    return _CN_DIGITS.get(text)


def urgency_claims(folded: str) -> list[Claim]:
    """Every urgency claim with the span it asserts ("closes within …")."""
    claims = []
    for match in _TODAY.finditer(folded):
        span = 2 * _DAY if match.group(0).startswith("明") else _DAY
        claims.append(Claim(match.start(), match.end(), span))
    for match in _SPAN.finditer(folded):
        count = _number(match.group("n"))
        if count is None:
            continue
        claims.append(Claim(match.start(), match.end(), count * _UNITS.get(match.group("unit"), _DAY)))
    return claims


def sales_claims(folded: str) -> list[Claim]:
    """Every sales figure typed as a literal number."""
    return [Claim(m.start(), m.end()) for m in _SALES.finditer(folded)]
