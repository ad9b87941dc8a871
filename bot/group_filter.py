"""The one filter every text bound for a group passes through (issue 16: privacy masking in one place).

A group is public to all its members; whatever the bot posts there may quote a member
(a nickname, a 接龙 line, a question) and members put anything in their nicknames and
messages: a phone number, their room, their pickup code. Masking in each handler missed
places, so the outbox masks every group post once, just before it leaves
(`bot.outbox_sending`): restarts, retries and the rehearsal transcript see the same text.
Private messages keep their details (a member's own code and address).

`mask_group_text` masks what `bot.privacy.mask_contacts` masks (mobile and landline
numbers, ID-card and bank-card numbers, house and room numbers) and also the codes the
bot hands out privately:

* coupon codes, `K7QM-3XTA-9PRW` → `****-****-****` (handlers/coupons/codes.py);
* pickup codes: by shape, an upper-case token of four code characters with a letter and a
  digit (`K7Q3`), and any four code characters right after a word that names a code
  (`取货码 2345`, `券码 kqmw`); and exactly, in any case, every code the bot has issued and
  not yet seen picked up (`GroupFilter.hide`, fed by the fulfilment feature). By shape
  alone `KQMW` or `new2` would mask member names such as ANNA or amy2, and a bare
  four-digit number is a price or a count.

Operator text stays readable: `GroupFilter.publish` takes a campaign's published texts
(pickup points' names and addresses, product codes, its own posts) and keeps exactly those
fragments that the masker would otherwise change (`中山路12号`, a product code `AB23`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.privacy import mask_contacts

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""The alphabet of pickup and coupon codes (handlers/fulfilment/codes.py, handlers/coupons/codes.py)."""

_UP = CODE_ALPHABET
_ANY = CODE_ALPHABET + CODE_ALPHABET[8:].lower()
_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"

# K7QM-3XTA-9PRW in either case, or upper-case with spaces or nothing between the groups.
_COUPON = re.compile(
    rf"{_NOT_ALNUM_BEFORE}(?:[{_ANY}]{{4}}(?:[-－][{_ANY}]{{4}}){{2}}"
    rf"|[{_UP}]{{4}} ?[{_UP}]{{4}} ?[{_UP}]{{4}}){_NOT_ALNUM_AFTER}"
)
# Right after a word naming a code, any four code characters (digits only too) are a code.
_NAMED_CODE = re.compile(
    rf"(?P<word>(?:取货|提货|取件|核销|自提|券|优惠|兑换|验证)码\s*[:：是为]?\s*)[{_ANY}]{{4}}{_NOT_ALNUM_AFTER}"
)
# A standalone upper-case token with a letter and a digit: K7Q3 (not 2345: a number; not ANNA: a name).
_PICKUP = re.compile(
    rf"{_NOT_ALNUM_BEFORE}(?=[{_UP}]{{0,3}}[A-Z])(?=[{_UP}]{{0,3}}[0-9])[{_UP}]{{4}}{_NOT_ALNUM_AFTER}"
)
# Any standalone four-character token, checked against the codes issued (`GroupFilter.hide`).
_TOKEN4 = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{4}(?![0-9A-Za-z])")
HIDDEN_CAP = 200_000  # issued codes kept; the oldest go first (they are long picked up or expired)

CODE_MASK = "****"


def mask_codes(text: str) -> str:
    """`text` with coupon and pickup codes replaced by stars."""
    text = _COUPON.sub("****-****-****", text)
    text = _NAMED_CODE.sub(lambda m: m.group("word") + CODE_MASK, text)
    return _PICKUP.sub(CODE_MASK, text)


def mask_group_text(text: str) -> str:
    """Everything personal in `text` masked: contact details, addresses, pickup and coupon codes.

    Safe to apply twice: masked text masks to itself.
    """
    if not text:
        return text
    return mask_codes(mask_contacts(text))


def _fragment_pattern(fragment: str) -> str:
    """`fragment` as a regex that matches it only as a whole: `A1` is not the start of `A13812345678`."""
    before = _NOT_ALNUM_BEFORE if fragment[0].isascii() and fragment[0].isalnum() else ""
    after = _NOT_ALNUM_AFTER if fragment[-1].isascii() and fragment[-1].isalnum() else ""
    return f"{before}{re.escape(fragment)}{after}"


class GroupFilter:
    """`mask_group_text`, except for the fragments operators published on purpose.

    The campaign runtime publishes each loaded campaign's texts here (on load and reload,
    and withdraws them on unload); this module knows nothing of campaigns. Only fragments
    the masker would change are kept, so the set stays a handful per campaign.
    """

    def __init__(self) -> None:
        self._by_source: dict[str, frozenset[str]] = {}
        self._versions: dict[str, object] = {}
        self._pattern: re.Pattern[str] | None = None
        self._hidden: dict[str, None] = {}  # issued codes, upper-case, oldest first (a bounded ordered set)

    def publish(self, source: str, texts: Iterable[str], version: object = None) -> None:
        """Keep `texts` (and each of their lines) readable in group posts, replacing `source`'s earlier ones.

        With `version` (an opaque object, e.g. the loaded campaign), publishing the same
        version again is free: the runtime may call this whenever a campaign changes state.
        """
        if version is not None and self._versions.get(source) is version:
            return
        self._versions[source] = version
        kept: set[str] = set()
        for text in texts:
            for piece in (text, *text.splitlines()):
                piece = piece.strip()
                if piece and mask_group_text(piece) != piece:
                    kept.add(piece)
        if self._by_source.get(source, frozenset()) == kept:
            return
        if kept:
            self._by_source[source] = frozenset(kept)
        else:
            self._by_source.pop(source, None)
        self._rebuild()

    def hide(self, codes: Iterable[str]) -> None:
        """Mask these issued codes wherever they appear as a token, whatever their case or shape.

        All-digit codes are left to the named-code rule (`取货码 2345`): hidden, they would mask
        every `2345` in a sales figure while the code waits to be picked up."""
        for code in codes:
            if not code.isdigit():
                self._hidden[code.upper()] = None
        while len(self._hidden) > HIDDEN_CAP:
            del self._hidden[next(iter(self._hidden))]

    def _mask(self, text: str) -> str:
        masked = mask_group_text(text)
        if not self._hidden:
            return masked
        hidden = self._hidden
        return _TOKEN4.sub(lambda m: CODE_MASK if m.group(0).upper() in hidden else m.group(0), masked)

    def withdraw(self, source: str) -> None:
        """Forget what `source` published (its campaign was unloaded)."""
        self._versions.pop(source, None)
        if self._by_source.pop(source, None) is not None:
            self._rebuild()

    @property
    def public(self) -> frozenset[str]:
        """Every fragment kept readable now."""
        return frozenset().union(*self._by_source.values())

    def _rebuild(self) -> None:
        fragments = sorted(self.public, key=lambda f: (-len(f), f))  # the longest wins where they overlap
        self._pattern = re.compile("|".join(map(_fragment_pattern, fragments))) if fragments else None

    def __call__(self, text: str) -> str:
        """`text` as it may reach a group."""
        masked = self._mask(text)
        pattern = self._pattern
        if masked == text or pattern is None:
            return masked  # nothing to mask, or nothing published to spare: one pass
        parts: list[str] = []
        start = 0
        for match in pattern.finditer(text):
            parts.append(self._mask(text[start : match.start()]))
            parts.append(match.group(0))
            start = match.end()
        if not parts:
            return masked
        parts.append(self._mask(text[start:]))
        return "".join(parts)


__all__ = ["CODE_ALPHABET", "GroupFilter", "mask_codes", "mask_group_text"]
