"""Masking contact details in text that would reach a group.

A group is public to all its members, so a member's words quoted back to it must
not carry their phone number or where they live (团购群里的「我电话138…，住3栋502」).
`mask_contacts` hides mobile and landline numbers, ID-card and bank-card numbers,
and the building / unit / room part of addresses, and leaves everything else as it
was typed. It is a pure function of the text, so any group-bound text (a template
filter, the outbox) can be routed through it; the same text masks the same way.

What stays readable: the first three and last four digits of a mobile number
(138****5678, enough for its owner to recognise it), the area code and last four
of a landline, the last four of a card. Address numbers become `**` whatever their
length, so `住3栋502` reads `住**栋**` and leaks neither the building nor the room.
"""

from __future__ import annotations

import re

_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

# Digits must not touch other digits (or letters, for ids): 13812345678 inside a longer number
# is not a phone number, and a coupon code such as K7QM-3XTA-9PRW is never touched.
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:\d{8}|\d{11}[0-9Xx])(?![0-9A-Za-z])")
# A 16-19 digit card; a tail set apart by a space or dash counts only when no digit group or letter
# follows it: in "6222…3456 130 0000 0000" the 130 begins a phone number, and in "6222…3456 222A" the
# 222 begins a pickup code, not the card's end.
_BANK_CARD = re.compile(
    r"(?<![\d*])\d{4}(?:[ -]?\d{4}){3}(?:\d{1,3}|[ -]\d{1,3}(?![ -]?\d|[A-Za-z]))?(?![\d*])"
)
# A mainland mobile number (+86 optional, spaces or dashes between the groups): what is masked here,
# and what the order guard reads from remarks (handlers/orderguard/signals.py).
MOBILE_RE = re.compile(
    r"(?<![\d*])(?P<prefix>(?:\+|＋)?86[ -]?)?"
    r"(?P<head>1[3-9]\d)[ -]?(?P<mid>\d{4})[ -]?(?P<tail>\d{4})(?![\d*])"
)
_LANDLINE = re.compile(
    r"(?<![\d*])(?P<area>\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3})"
    r"[ -]?(?P<number>\d{7,8})(?:[-转]\d{1,5})?(?![\d*])"
)

_NUM = r"(?:\d{1,5}|[一二三四五六七八九十百零两]{1,4})"
_STRONG_UNITS = ("号楼", "栋", "幢", "单元", "室", "房")
_UNIT = r"(?:号楼|栋|幢|单元|楼|层|室|房|号)"
# A run of numbered address parts (3栋2单元502室, 12号楼, B座1203); it counts as an address
# only with one of the strong units, so "5号取货" or "3楼自提" stay as they are.
_ADDRESS_RUN = re.compile(
    rf"(?<![0-9A-Za-z])(?:(?:{_NUM}{_UNIT})|(?:[A-Za-z]\d{{0,3}}座))+(?:[-－]?\d{{1,5}}(?:室|房|号)?)?"
)
# A street number: 中山路12号, 人民大道8号院, 长乐路123弄5号 (not 知道3号 or 群里5号: dates).
_STREET = re.compile(rf"(?<=路|街|巷|弄)(?:{_NUM})(?=号|弄)")
# Building-unit-room written with dashes: 3-2-502.
_DASHED_ROOM = re.compile(r"(?<![0-9A-Za-z.-])\d{1,3}-\d{1,3}-\d{3,4}(?![0-9A-Za-z.-])")
_NUMBER_PART = re.compile(rf"{_NUM}|[A-Za-z]\d{{0,3}}(?=座)")

MASK = "**"


def _mask_id(match: re.Match[str]) -> str:
    text = match.group(0)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "****" + digits[-4:]


def _mask_mobile(match: re.Match[str]) -> str:
    return f"{match.group('prefix') or ''}{match.group('head')}****{match.group('tail')}"


def _mask_landline(match: re.Match[str]) -> str:
    return f"{match.group('area')}-****{match.group('number')[-4:]}"


def _mask_address(match: re.Match[str]) -> str:
    text = match.group(0)
    if not any(unit in text for unit in _STRONG_UNITS) and "座" not in text:
        return text
    return _NUMBER_PART.sub(MASK, text)


def mask_contacts(text: str) -> str:
    """`text` with phone numbers, ID/bank-card numbers and house numbers masked.

    Full-width digits are read as digits (a member typing １３８… is masked too).
    Safe to apply twice: masked text masks to itself.
    """
    if not text:
        return text
    text = text.translate(_FULL_WIDTH_DIGITS)
    text = _ID_CARD.sub(_mask_id, text)
    text = _BANK_CARD.sub(_mask_card, text)
    text = MOBILE_RE.sub(_mask_mobile, text)
    text = _LANDLINE.sub(_mask_landline, text)
    text = _DASHED_ROOM.sub(lambda m: "-".join(MASK for _ in m.group(0).split("-")), text)
    text = _STREET.sub(MASK, text)
    return _ADDRESS_RUN.sub(_mask_address, text)


def mask_name(name: str) -> str:
    """张** : a display name's first character and stars, enough for a member to recognise
    themselves in a group post, not enough to be found by ("群友" for an empty name)."""
    shown = name.strip() or "群友"
    return shown[0] + "*" * min(max(len(shown) - 1, 1), 2)
