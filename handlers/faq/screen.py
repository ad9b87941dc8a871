"""The cheap exact path of `FaqMatcher.match`: most chatter is dismissed without jieba.

`match` only needs the best item when its score reaches the bar (`THRESHOLD` for a
question, `NEAR_COPY` otherwise); an item below the bar can neither be answered nor
outrank one above it. So each score is computed only where it can still reach the
bar: rapidfuzz gets a `score_cutoff` (it rejects on length bounds in C), and jieba,
which costs more than all the rapidfuzz calls together, runs only when some item's
token score could reach the bar and beat that item's character score.

The token score is bounded without segmenting the text. jieba's words concatenate
back to the squashed text (`test_faq_speed` checks it), so the sorted content tokens
T hold at most the text's characters plus spaces. `ratio(T, P) = 200·LCS/(|T|+|P|)`
and `LCS ≤ min(|T|, |P|, Σ_c min(count_T(c), count_P(c)))`; with `|T| ≥ LCS` the
score is at most `200·X/(X+|P|)` for `X = min(|P|, spaces(P) + Σ_{c≠' '} min(count_text(c), count_P(c)))`.
Scores within `MARGIN` of a bar are always computed, so float rounding cannot flip one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

MARGIN = 1e-6
"""Slack (score points) on every comparison that decides to skip work; far above float error."""


@dataclass(frozen=True)
class Phrasing:
    """One phrasing of an item: its content (for `fuzz.ratio`) and sorted content tokens ("" if none)."""

    content: str
    tokens: str

    @property
    def spaces(self) -> int:
        return self.tokens.count(" ")


def token_bound(shared: int, p: Phrasing) -> float:
    """Upper bound of `token_sort_ratio(T, p.tokens)` for sorted content tokens T of a text sharing at most
    `shared` non-space characters (counted with multiplicity) with `p.tokens`.

    With a matched non-space characters and s matched spaces, LCS = a + s, and T has at
    least max(a, s + 1) non-space characters (s spaces join s + 1 non-empty tokens) plus s
    spaces, so the score is at most g(s) = 200(a+s)/(max(a, s+1) + s + |P|). That grows with
    a, so a = min(shared, non-space |P|); in s it grows up to a - 1 and is monotone after,
    so its maximum over 0..spaces(P) is at one of four points.
    """
    size = len(p.tokens)
    if not size:
        return 0.0
    spaces = p.spaces
    a = min(shared, size - spaces)
    return max(
        200.0 * (a + s) / (max(a, s + 1) + s + size)
        for s in (0, min(spaces, max(a - 1, 0)), min(spaces, a), spaces)
    )


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the bounds need of a phrasing, or (`union`) of all of an item's phrasings at once."""

    content_chars: frozenset[str]
    content_len: int  # the longest, for an item
    content_min: int  # the shortest, for an item
    content_dup: int  # characters beyond the first of each kind (most, for an item)
    token_chars: frozenset[str]  # non-space
    token_len: int  # with spaces; the shortest non-empty, for an item; 0: no tokens
    token_nonspace: int  # the most, for an item
    token_dup: int
    spaces: int  # the most, for an item


def _shape(p: Phrasing) -> _Shape:
    chars = p.tokens.replace(" ", "")
    return _Shape(
        frozenset(p.content),
        len(p.content),
        len(p.content),
        len(p.content) - len(set(p.content)),
        frozenset(chars),
        len(p.tokens),
        len(chars),
        len(chars) - len(set(chars)),
        p.spaces,
    )


def _union(shapes: Sequence[_Shape]) -> _Shape:
    with_tokens = [s for s in shapes if s.token_len]
    return _Shape(
        frozenset().union(*(s.content_chars for s in shapes)),
        max((s.content_len for s in shapes), default=0),
        min((s.content_len for s in shapes), default=0),
        max((s.content_dup for s in shapes), default=0),
        frozenset().union(*(s.token_chars for s in with_tokens)),
        min((s.token_len for s in with_tokens), default=0),
        max((s.token_nonspace for s in with_tokens), default=0),
        max((s.token_dup for s in with_tokens), default=0),
        max((s.spaces for s in with_tokens), default=0),
    )


def _token_bound(shared: int, shape: _Shape, enough: float = 100.0) -> float:
    """`token_bound` from a shape (an item's union shape bounds every one of its phrasings).

    A looser bound is returned at once when it is already clearly below `enough`.
    """
    size = shape.token_len
    if not size:
        return 0.0
    a, spaces = min(shared, shape.token_nonspace), shape.spaces
    quick = 200.0 * (a + spaces) / (a + spaces + size)  # ≥ every g(s): max(a, s+1) ≥ a, and it grows with s
    if quick + 2 * MARGIN < enough:
        return quick
    return max(
        200.0 * (a + s) / (max(a, s + 1) + s + size)
        for s in (0, min(spaces, max(a - 1, 0)), min(spaces, a), spaces)
    )


NEVER = 1 << 30
"""`_least_shared` of a shape whose token bound never reaches the bar."""


def _least_shared(shape: _Shape, need: float) -> int:
    """The fewest shared characters at which `_token_bound` could reach `need` (`NEVER` if none).

    Below it the phrasing's token score is below `need` by the bound's own test, so an item
    whose text shares fewer characters (over all its phrasings) than the least of these is
    rejected with one set intersection, without evaluating a bound per phrasing.
    """
    if not shape.token_len:
        return NEVER
    for shared in range(shape.token_nonspace + 1):
        if _token_bound(shared, shape) + 2 * MARGIN >= need:
            return shared
    return NEVER


def _char_bound(common: int, size: int, shortest: int, longest: int) -> float:
    """Upper bound of `fuzz.ratio` between a text of `size` and any phrasing `shortest..longest` long,
    sharing at most `common` characters: `200·min(common, L)/(size + L)` peaks at `L = common`."""
    if common <= shortest:
        return 200.0 * common / (size + shortest or 1)
    if common >= longest:
        return 200.0 * longest / (size + longest or 1)
    return 200.0 * common / (size + common or 1)


class Screen:
    """The phrasings of a matcher's items, with what the score bounds need precomputed.

    Characters a text shares with a phrasing bound the LCS behind both ratios: with S the
    text's set of characters and d its repeats (`len - len(set)`), the shared count with
    multiplicity is at most `|S ∩ chars(P)| + min(d, repeats(P))` — one set intersection in C.
    Each item is first bounded over the union of its phrasings (`_union`: most characters,
    longest content, shortest tokens, most spaces; every bound grows with those), and only
    items that might reach their bar are bounded phrasing by phrasing, then scored.
    """

    def __init__(self, items: Sequence[Sequence[Phrasing]]) -> None:
        self._items = [[(p, _shape(p)) for p in phrasings] for phrasings in items]
        self._unions = [_union([shape for _, shape in phrasings]) for phrasings in self._items]
        self._least: list[dict[float, int]] = [{} for _ in self._items]  # need -> least shared, per item

    def _least_shared(self, index: int, need: float) -> int:
        """The least `_least_shared` over the item's phrasings, for `need` (computed once per bar)."""
        found = self._least[index].get(need)
        if found is None:
            found = self._least[index][need] = min(
                (_least_shared(shape, need) for _, shape in self._items[index]), default=NEVER
            )
        return found

    def best_scores(
        self,
        needed: Sequence[float],
        squashed: str,
        stripped: str,
        tokens_of: Callable[[], str],
        *,
        eager: bool = False,
    ) -> list[float | None]:
        """Each item's exact best phrasing similarity (before any bonus); None where below `needed[i]`.

        `stripped` is `squashed` with some characters removed. `tokens_of` segments the
        text; it is called at most once, and only when a token score can matter, or at once
        when `eager` (questions: their low bar makes segmenting nearly always necessary, and
        bounding first would only add work).
        """
        chars = frozenset(squashed)
        repeats = len(squashed) - len(chars)
        size = len(stripped)
        tokens: str | None = tokens_of() if eager else None
        best: list[float | None] = []
        items = zip(self._items, self._unions, needed, strict=True)
        for index, (phrasings, union, need) in enumerate(items):
            cutoff = need - MARGIN if need > MARGIN else 0.0
            if tokens is None:  # item-level rejection: most chatter ends here
                common = len(chars & union.content_chars) + (
                    repeats if repeats < union.content_dup else union.content_dup
                )
                if _char_bound(common, size, union.content_min, union.content_len) + MARGIN < cutoff:
                    shared = len(chars & union.token_chars) + (
                        repeats if repeats < union.token_dup else union.token_dup
                    )
                    if shared < self._least_shared(index, need):
                        best.append(None)  # no phrasing of the item reaches the bar
                        continue
            char = 0.0
            for p, _ in phrasings:  # rapidfuzz rejects on length in C, as fast as any bound here
                score = fuzz.ratio(stripped, p.content, score_cutoff=cutoff)
                if score > char:
                    char = score
            bound = 0.0
            if tokens is None:  # once the text is segmented, bounding token scores saves nothing
                for _, shape in phrasings:
                    if shape.token_len:
                        shared = len(chars & shape.token_chars) + min(repeats, shape.token_dup)
                        bound = max(bound, _token_bound(shared, shape, need))
            else:
                bound = 100.0
            if bound + MARGIN < char:  # no token score can beat the (exact, non-zero) character score
                best.append(char)
                continue
            if bound + 2 * MARGIN < need and char < cutoff:  # nothing reaches the bar
                best.append(None)
                continue
            if tokens is None:
                tokens = tokens_of()
            score = char
            if tokens:
                for p, shape in phrasings:
                    if shape.token_len:
                        score = max(score, fuzz.token_sort_ratio(tokens, p.tokens, score_cutoff=cutoff))
            best.append(score if score >= cutoff else None)  # below: every part was cut to 0
        return best
