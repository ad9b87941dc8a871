"""Reading chain orders (接龙) the way members really type them.

Accepted (see docs/ordering.md), after Unicode NFKC normalisation so full-width
digits, letters and signs (`Ａ１＋２`, `＋１`, `　`) read like ASCII:

* `接龙 A1 2`, `接龙A1 2`, `接龙：A1 2`, `A1 2`, `A1` (one unit), `a1 2`
* `A1+2`, `A1 +2`, `A1 x2`, `A1X2`, `A1×2`, `A1*2`, `A1 2份` (a unit word after the number)
* `+1`, `+2`, `接龙 +1`: the only product, or else the product last mentioned in the group
* product names or an unambiguous part of one: `草莓 2`, `脐橙+1`, `接龙 苹果`
  (a name needs a quantity or the 接龙 prefix, so a chat line like "草莓！" is not an order)
* Chinese numerals one to ten: `A1 两份`, `草莓 三盒`
* several items in one message: `A1 2 A2 1`, `A1+2，A3+1`

A remark (备注) rides along after the order: `A1 2 备注 3栋502`, `接龙 A1 2 备注：放门口`,
`A1 2 (备注 放门口)`; the text from 备注 on is the remark, the rest parses as the order
(`split_remark`, a string operation). `备注 放门口` on its own is a remark for the last order.

Cancelling: `取消 A1`, `取消A1`, `取消草莓`, `取消全部`, `全部取消`, `取消订单`.
My orders: `我的订单`, `查订单`, `我的接龙`.

Everything here is a pure function of the text and the campaign's catalogue.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from bot.campaign import Product

MAX_QUANTITY = 999
CN_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
UNIT_WORDS = "份件个盒箱斤袋包瓶只颗串组套提罐杯"

_CODE = r"[A-Z]{1,3}\d{1,3}"
_QTY = r"\d{1,4}|十[一二三四五六七八九]?|[一二两俩三四五六七八九]十?"
_SEP = r"[\s,，、;；.。!！~～]*"
_ITEM_RE = re.compile(
    rf"(?P<ref>{_CODE}(?!\d)|[^\s\d+X×*,，、;；.。!！~～:]+)"
    rf"\s*(?:(?P<op>[+X×*])\s*)?(?P<qty>{_QTY})?\s*[{UNIT_WORDS}]?{_SEP}"
)
_PLUS_RE = re.compile(rf"^\+\s*(?P<qty>{_QTY})\s*[{UNIT_WORDS}]?{_SEP}$")
_PREFIX_RE = re.compile(r"^\s*接龙\s*[:]?\s*")
_CODE_RE = re.compile(rf"^{_CODE}$")
_TRAILING_QTY_RE = re.compile(rf"^(?P<name>.+?)(?P<qty>{_QTY})[{UNIT_WORDS}]?$")
_CANCEL_ALL_RE = re.compile(r"^(?:取消\s*(?:全部|所有|订单|全部订单|接龙|我的订单)?|全部取消)[\s.。!！]*$")
_CANCEL_ONE_RE = re.compile(r"^取消\s*(?P<ref>.+?)[\s.。!！]*$")
_MY_ORDERS_RE = re.compile(r"^\s*(?:我的订单|查订单|查询订单|订单查询|我的接龙|我买了什么)[\s?？。!！]*$")
_PHONE_RE = re.compile(r"\d[\d\s-]{5,}\d")
_REMARK_RE = re.compile(r"^(?P<order>.*?)[\s(（\[【]*备注\s*[:：]?\s*(?P<remark>.*)$", re.DOTALL)
_REMARK_TRAIL = " \t\r\n)）]】"
_REMARK_QUESTION_RE = re.compile(r"[?？]\s*$|怎么|如何|哪里|在哪|什么|能不能|可不可以|可以吗|行吗")
_QTY_CHAR_RE = re.compile(r"[\d十一二两俩三四五六七八九]")  # every `_QTY` and `_CODE` holds one of these


def normalize(text: str) -> str:
    """NFKC (full-width to ASCII), upper-case Latin letters, trimmed."""
    return nfkc_upper(unicodedata.normalize("NFKC", text))


def nfkc_upper(nfkc: str) -> str:
    """`normalize` of a text already in NFKC (a matcher's view has it)."""
    return nfkc.strip().upper()


def chinese_quantity(token: str) -> int:
    """`2` → 2, `两` → 2, `十` → 10, `十二` → 12, `三十` → 30."""
    if token.isdigit():
        return int(token)
    if token.startswith("十"):
        return 10 + (CN_DIGITS[token[1]] if len(token) > 1 else 0)
    if token.endswith("十"):
        return CN_DIGITS[token[0]] * 10
    return CN_DIGITS[token]


def safe_name(name: str, fallback: str = "群友") -> str:
    """A display name fit for a group post: phone-number-like digit runs are masked.

    People put their phone number or flat in their group nickname (张三 138xxxx); the
    bot repeats names in 接龙 lists, so it never repeats such digits.
    """
    cleaned = _PHONE_RE.sub("***", name.strip())[:24]
    return cleaned or fallback


@dataclass(frozen=True)
class Catalog:
    """The products members can order in one campaign: codes and names."""

    codes: tuple[str, ...]
    names: dict[str, str]

    @classmethod
    def of(cls, products: Iterable[Product]) -> Catalog:
        items = list(products)
        return cls(tuple(p.code for p in items), {p.code: normalize(p.name) for p in items})

    def resolve(self, ref: str) -> str | None:
        """A product code for a code or (part of) a name; None if unknown or ambiguous."""
        if ref in self.names:
            return ref
        exact = [code for code, name in self.names.items() if name == ref]
        if exact:
            return exact[0]
        if len(ref) < 2:
            return None
        partial = [
            code for code, name in self.names.items() if ref in name or (len(name) >= 2 and name in ref)
        ]
        return partial[0] if len(partial) == 1 else None

    def mentioned(self, text: str) -> str | None:
        """The product a chat line mentions (code or name), for `+1` orders that follow it."""
        return self.mentioned_in(normalize(text))

    def mentioned_in(self, norm: str) -> str | None:
        """`mentioned` of an already normalised text; one compiled search dismisses most chatter."""
        if self._any_code_re.search(norm):
            for code, pattern in self._code_res:
                if pattern.search(norm):
                    return code
        if self._any_name_re.search(norm) is None:
            return None
        for code, name in self.names.items():  # the first in catalogue order, as always
            if name in norm:
                return code
        return None

    def could_be_order(self, norm: str) -> bool:
        """A necessary condition for `parse_normalized` to accept `norm`, checked in a few µs: an
        order has the 接龙 prefix, a digit or Chinese numeral (every quantity and code-like
        reference holds one), or a full product name (replaced by its code before parsing)."""
        return bool(_QTY_CHAR_RE.search(norm) or _PREFIX_RE.match(norm) or self._any_name_re.search(norm))

    # Compiled once per catalogue (a campaign version), not per message.
    @cached_property
    def _code_res(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        return tuple((code, re.compile(rf"(?<![A-Z]){code}(?!\d)")) for code in self.codes)

    @cached_property
    def _any_code_re(self) -> re.Pattern[str]:
        if not self.codes:
            return re.compile(r"(?!)")
        return re.compile("|".join(rf"(?:(?<![A-Z]){code}(?!\d))" for code in self.codes))

    @cached_property
    def _any_name_re(self) -> re.Pattern[str]:
        """Whether any product's full name is in a text: one search instead of one per product."""
        names = [re.escape(name) for name in self.names.values() if name]
        return re.compile("|".join(names)) if names else re.compile(r"(?!)")

    @cached_property
    def longest_first(self) -> tuple[tuple[str, str], ...]:
        """(code, name) with the longest names first, for `_replace_names`."""
        return tuple(sorted(self.names.items(), key=lambda kv: -len(kv[1])))


@dataclass(frozen=True)
class OrderItem:
    """One item of an order message; `code` None means "+N" of the implied product."""

    code: str | None
    quantity: int
    ref: str = ""


@dataclass(frozen=True)
class ParsedOrder:
    items: tuple[OrderItem, ...]
    unknown: tuple[str, ...] = ()  # code-like refs that are not products (A9)


def _replace_names(text: str, catalog: Catalog) -> str:
    """Swap full product names for their codes first, so names with digits (丹东99红颜草莓) stay whole."""
    for code, name in catalog.longest_first:
        if name and name in text:
            text = text.replace(name, f" {code} ")
    return text.strip()


def parse_order(text: str, catalog: Catalog) -> ParsedOrder | None:
    """The order in `text`, or None if the message is not an order."""
    return parse_normalized(normalize(text), catalog)


def parse_normalized(norm: str, catalog: Catalog) -> ParsedOrder | None:
    """`parse_order` of a text already passed through `normalize`."""
    if not norm or len(norm) > 200:
        return None
    prefixed = bool(_PREFIX_RE.match(norm))
    body = _PREFIX_RE.sub("", norm, count=1) if prefixed else norm
    if prefixed and not body:
        return None
    plus = _PLUS_RE.match(body)
    if plus:
        quantity = chinese_quantity(plus.group("qty"))
        return ParsedOrder((OrderItem(None, quantity, "+"),)) if 0 < quantity <= MAX_QUANTITY else None
    body = _replace_names(body, catalog)
    items: list[OrderItem] = []
    unknown: list[str] = []
    pos = 0
    while pos < len(body):
        match = _ITEM_RE.match(body, pos)
        if match is None or match.end() == pos:
            return None
        pos = match.end()
        ref, qty_text = match.group("ref"), match.group("qty")
        if match.group("op") and not qty_text:
            return None
        quantity = chinese_quantity(qty_text) if qty_text else 1
        if not 0 < quantity <= MAX_QUANTITY:
            return None
        if _CODE_RE.match(ref):
            if ref in catalog.names:
                items.append(OrderItem(ref, quantity, ref))
            else:
                unknown.append(ref)
            continue
        code = catalog.resolve(ref)
        if code is None and not qty_text and (trailing := _TRAILING_QTY_RE.match(ref)):
            code = catalog.resolve(trailing.group("name"))
            qty_text = trailing.group("qty") if code else None
            quantity = chinese_quantity(qty_text) if qty_text else 1
        if code is None or not (qty_text or prefixed):
            return None
        items.append(OrderItem(code, quantity, ref))
    if not items and not unknown:
        return None
    return ParsedOrder(tuple(items), tuple(unknown))


@dataclass(frozen=True)
class CancelIntent:
    """`product_code` None = cancel everything in this group."""

    product_code: str | None
    unknown: str = ""


def parse_cancel(text: str, catalog: Catalog) -> CancelIntent | None:
    norm = normalize(text)
    if _CANCEL_ALL_RE.match(norm):
        return CancelIntent(None)
    match = _CANCEL_ONE_RE.match(norm)
    if match is None:
        return None
    ref = _replace_names(match.group("ref"), catalog).strip()
    ref = re.sub(r"\s*\d*\s*[" + UNIT_WORDS + r"]?$", "", ref) if not _CODE_RE.match(ref) else ref
    if _CODE_RE.match(ref):
        return CancelIntent(ref) if ref in catalog.names else CancelIntent(None, unknown=ref)
    code = catalog.resolve(ref)
    return CancelIntent(code) if code else None


def split_remark(text: str) -> tuple[str, str | None]:
    """(order part, remark) of a message; remark None when the message has no 备注.

    `A1 2 备注 3栋502` -> ("A1 2", "3栋502"); `A1 2 (备注 放门口)` -> ("A1 2", "放门口");
    `备注：放门口` -> ("", "放门口"). The remark keeps the member's own characters (no
    normalisation): it is for the leader's pickup list and the member's private answers.
    """
    if "备注" not in text:
        return text, None
    match = _REMARK_RE.match(text)
    if match is None:  # pragma: no cover - the pattern matches any text holding 备注
        return text, None
    return match.group("order").strip(), match.group("remark").strip().rstrip(_REMARK_TRAIL).strip()


def is_remark_question(remark: str) -> bool:
    """`备注怎么写？`: a question about remarks (for the FAQ), not a remark."""
    return bool(_REMARK_QUESTION_RE.search(remark))


def is_my_orders(text: str) -> bool:
    return bool(_MY_ORDERS_RE.match(normalize(text)))
