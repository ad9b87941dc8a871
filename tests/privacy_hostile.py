"""Hostile member data for the privacy tests (issue 16): values that must never reach a group unmasked.

Each strategy draws one `Secret`: the text a member would type (a phone with spaces, dashes,
+86 or full-width digits; an ID-card or bank-card number; a room or street number; a pickup
or coupon code) and the ways its leak would show in output (`leaked`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import strategies as st

from bot.group_filter import CODE_ALPHABET

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
TO_ASCII = str.maketrans("０１２３４５６７８９", "0123456789")
LETTERS = [c for c in CODE_ALPHABET if c.isalpha()]


@dataclass(frozen=True)
class Secret:
    """`typed`: as it appears in a member's name or text; `canonical`: its digits or code, bare."""

    kind: str
    typed: str
    canonical: str

    def leaked(self, output: str) -> bool:
        """Whether `output` shows this value: as typed, or (for numbers) its digits with any separators."""
        if self.typed in output:
            return True
        if self.kind in ("phone", "id", "bank"):
            squeezed = re.sub(r"[\s\-－]", "", output.translate(TO_ASCII))
            return self.canonical in squeezed
        return False


digits = st.sampled_from("0123456789")


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.lists(digits, min_size=n, max_size=n).map("".join)


@st.composite
def phones(draw: st.DrawFn) -> Secret:
    number = draw(st.sampled_from("3456789").map(lambda d: "1" + d)) + draw(_digits(9))
    head, mid, tail = number[:3], number[3:7], number[7:]
    style = draw(st.sampled_from(["plain", "spaces", "dashes", "+86", "+86-", "full"]))
    typed = {
        "plain": number,
        "spaces": f"{head} {mid} {tail}",
        "dashes": f"{head}-{mid}-{tail}",
        "+86": f"+86 {number}",
        "+86-": f"+86-{head}-{mid}-{tail}",
        "full": number.translate(FULL_WIDTH),
    }[style]
    return Secret("phone", typed, number)


@st.composite
def id_cards(draw: st.DrawFn) -> Secret:
    area = draw(st.sampled_from("123456789")) + draw(_digits(5))
    birth = f"{draw(st.integers(1940, 2010))}{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}"
    number = area + birth + draw(_digits(3)) + draw(st.sampled_from("0123456789X"))
    return Secret("id", number, number)


@st.composite
def bank_cards(draw: st.DrawFn) -> Secret:
    number = draw(st.sampled_from(["62", "43", "52", "95"])) + draw(_digits(draw(st.sampled_from([14, 17]))))
    grouped = draw(st.booleans())
    typed = " ".join(number[i : i + 4] for i in range(0, len(number), 4)) if grouped else number
    return Secret("bank", typed, number)


@st.composite
def addresses(draw: st.DrawFn) -> Secret:
    n = draw(st.integers(1, 40))
    room = draw(st.integers(101, 3204))
    road = draw(st.sampled_from(["解放", "建设", "和平", "幸福", "XX"]))
    typed = draw(
        st.sampled_from(
            [f"{n}栋{room}", f"{n}号楼{room}室", f"{road}路{n + 10}号", f"{n}单元{room}", f"{n}幢{room}室"]
        )
    )
    return Secret("address", typed, typed)


@st.composite
def pickup_codes(draw: st.DrawFn) -> Secret:
    """A code as handlers/fulfilment/codes.py draws them. One the masker can tell by its shape
    (K7Q3) is typed bare; any other (2345, KQMW, k7q3) is said with its name: bare, it is masked
    only as an issued code (`GroupFilter.hide`, tested on its own)."""
    code = "".join(draw(st.lists(st.sampled_from(CODE_ALPHABET), min_size=4, max_size=4)))
    shaped = any(c.isalpha() for c in code) and any(c.isdigit() for c in code)
    if shaped and draw(st.booleans()):
        return Secret("pickup", code, code)
    typed = code.lower() if draw(st.booleans()) else code
    return Secret("pickup", f"{draw(st.sampled_from(['取货码', '提货码', '券码 ']))}{typed}", code)


@st.composite
def coupon_codes(draw: st.DrawFn) -> Secret:
    """A code as handlers/coupons/codes.py draws them: K7QM-3XTA-9PRW."""
    chars = "".join(draw(st.lists(st.sampled_from(CODE_ALPHABET), min_size=12, max_size=12)))
    code = "-".join(chars[i : i + 4] for i in range(0, 12, 4))
    return Secret("coupon", code, code)


secrets = st.one_of(phones(), id_cards(), bank_cards(), addresses(), pickup_codes(), coupon_codes())
# What members put around them: never a letter or a digit (that would make another number or word).
affixes = st.sampled_from(["王姐", "我住", "电话", "，", " ", "张三", "（", "）", "-李", "：", "请联系"])


@st.composite
def hostile_texts(draw: st.DrawFn) -> tuple[str, list[Secret]]:
    """A name or message carrying one to three secrets: `王姐13812345678，我住3栋502`."""
    found = draw(st.lists(secrets, min_size=1, max_size=3))
    parts = [draw(affixes)]
    for secret in found:
        parts += [secret.typed, draw(affixes)]
    return "".join(parts), found
