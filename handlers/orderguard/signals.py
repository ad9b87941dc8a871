"""What makes two member ids look like one person: pure functions of text, no database.

Why these three: a padder ordering through extra ids keeps the things a delivery needs
(the phone number the leader calls, the room the goods go to) or reuses a nickname with a
digit or an emoji added (张三, 张三2, 张三🍓). So remarks are compared by the mobile numbers
and the building/room they name, and display names after normalising away what people
vary (NFKC width and compatibility forms, case, digits, emoji, punctuation, spaces).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from bot.privacy import MOBILE_RE, mask_name

MIN_NAME_CHARS = 2
"""A normalised name shorter than this (a lone 张, an emoji-only name) is too common to compare."""

# A room in a building: 3栋502, 3号楼2单元502室, 12幢1-1203, B座1203 is left out (no number first).
_ROOM = re.compile(r"(?<!\d)(\d{1,4})(?:号楼|栋|幢|座)(?:(\d{1,2})单元)?[-—]?(\d{2,5})(?:室|号|房)?")
# Building-unit-room with dashes: 3-2-502.
_DASHED = re.compile(r"(?<![\d-])(\d{1,3})-(\d{1,3})-(\d{3,4})(?![\d-])")
# A street number: 中山路12号, 长乐路123弄5号 (the road name and the number).
_STREET = re.compile(r"([\u4e00-\u9fff]{1,8}(?:路|街|巷|弄|道))(\d{1,5})号")


def normalise_name(name: str) -> str:
    """The letters of a display name, casefolded: 张三, ＺＨANG三2, 张 三🍓 and 张三!! compare equal.

    Digits, emoji, symbols, punctuation and spaces are dropped (only Unicode letters stay);
    "" when what is left is shorter than `MIN_NAME_CHARS`.
    """
    folded = unicodedata.normalize("NFKC", name).casefold()
    letters = "".join(ch for ch in folded if unicodedata.category(ch).startswith("L"))
    return letters if len(letters) >= MIN_NAME_CHARS else ""


def phones_in(text: str) -> set[str]:
    """Mainland mobile numbers in a remark, as 11 plain digits (+86, spaces and dashes dropped)."""
    plain = unicodedata.normalize("NFKC", text)
    return {m.group("head") + m.group("mid") + m.group("tail") for m in MOBILE_RE.finditer(plain)}


def address_key(text: str) -> str:
    """The building and room (or street number) a remark names, in one canonical spelling; "".

    3栋502, ３栋５０２室 and 3号楼 502 are one key (`3栋502`); 3-2-502 and 3栋2单元502 another.
    Full-width digits count; phone numbers are removed first so their digits are never read
    as a room.
    """
    plain = MOBILE_RE.sub(" ", unicodedata.normalize("NFKC", text))
    plain = "".join(plain.split())
    room = _ROOM.search(plain)
    if room:
        building, unit, number = room.groups()
        return f"{int(building)}栋{int(unit) if unit else ''}{'单元' if unit else ''}{int(number)}"
    dashed = _DASHED.search(plain)
    if dashed:
        building, unit, number = (int(part) for part in dashed.groups())
        return f"{building}栋{unit}单元{number}"
    street = _STREET.search(plain)
    if street:
        return f"{street.group(1)}{int(street.group(2))}号"
    return ""


def digest(*parts: str) -> str:
    """A short stable digest of a signal, so a phone number or an address is never stored in clear."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def mask_member(name: str, member_id: str, *, full_id: bool = False) -> str:
    """张*(al…ce): enough for an admin to tell members apart, not a name and id to forward around.

    `full_id` keeps the id whole, for the admin who asked for it (`/guard --ids`) to act on.
    """
    return f"{mask_name(name)}({member_id if full_id else mask_id(member_id)})"


def mask_id(member_id: str) -> str:
    """The first and last two characters of an id (one each for short ids, the first for tiny ones)."""
    if len(member_id) >= 6:
        return f"{member_id[:2]}…{member_id[-2:]}"
    if len(member_id) >= 3:
        return f"{member_id[0]}…{member_id[-1]}"
    return f"{member_id[:1]}…"


__all__ = ["address_key", "digest", "mask_id", "mask_member", "normalise_name", "phones_in"]
