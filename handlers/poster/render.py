"""The results poster (战绩海报) as a PNG: `render_poster(facts) -> RenderedPoster`.

A portrait picture 1080 pixels wide, WeChat's full-width image size, between 3:4 and 9:16 tall:
a red band with the title, a card with the headline figure (GMV, or units for leaders who do
not publish money) and three smaller figures, the sold-out products (or the best sellers when
none sold out), the groups' ranking, and the thank-you line. Every text is fitted to its slot
by measuring it (`handlers.poster.layout`); lists show as many rows as the height allows and end
with "…等N件" (`handlers.poster.page`). The words come from `templates/poster/` through the
app's template service.

Pure: no database, no clock. The same facts give the same picture byte for byte.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot.templates import Renderer
from handlers.poster.canvas import RGB, Box, Canvas, TextBox, bold_stroke
from handlers.poster.fonts import drawable, font
from handlers.poster.layout import ellipsize, fit, line_height, sizes, width_of
from handlers.poster.model import PosterFacts
from handlers.poster.page import Block, ListRow, Page, plan_height

WIDTH = 1080
MIN_HEIGHT = 1440  # 3:4
MAX_HEIGHT = 1920  # 9:16: lists are cut to stay within it
MIN_SIZE = 24  # no text is drawn smaller: it is read on a phone
MARGIN = 64
PAD = 44  # inside a card
ROW = 64
BOLD_SLACK = 2 * bold_stroke(120)  # bold strokes widen a line: fitted that much narrower
WORDS = "poster/words.j2"
THANKS = "poster/thanks.j2"

BACKGROUND: RGB = (255, 246, 236)
BAND_TOP: RGB = (210, 36, 38)
BAND_BOTTOM: RGB = (243, 110, 44)
ON_BAND: RGB = (255, 255, 255)
ON_BAND_SOFT: RGB = (255, 226, 200)
CARD: RGB = (255, 255, 255)
INK: RGB = (43, 38, 34)
MUTED: RGB = (150, 136, 124)
ACCENT: RGB = (214, 38, 30)
RULE: RGB = (240, 228, 216)
THANKS_INK: RGB = (120, 84, 58)
MEDALS: tuple[RGB, ...] = ((238, 172, 24), (158, 170, 186), (204, 130, 70), (196, 186, 176), (196, 186, 176))


@dataclass(frozen=True)
class RenderedPoster:
    """The PNG and every text drawn on it (`TextBox`: its words, glyph box, slot, size and role)."""

    png: bytes
    boxes: tuple[TextBox, ...]
    width: int
    height: int


# One poster drawn at a time: the fonts (`fonts.font`) are shared FreeType faces, which are not
# made to be used by two threads at once (a /poster in a worker thread, a close on the loop).
_DRAWING = threading.Lock()


@cache
def _shipped_renderer() -> Renderer:
    return Renderer()


class Words:
    """The poster's words, one slot of `poster/words.j2` at a time, as the font can draw them."""

    def __init__(self, renderer: Renderer, facts: PosterFacts) -> None:
        self.renderer = renderer
        self.facts = facts

    def __call__(self, slot: str, **variables: Any) -> str:
        return drawable(self.renderer.render(WORDS, slot=slot, show=self.facts.show, **variables))

    def thanks(self) -> str:
        default = self.renderer.render(THANKS, title=self.facts.title, bot_name=self.facts.bot_name)
        return drawable(self.facts.thanks) or drawable(default)


def render_poster(facts: PosterFacts, *, renderer: Renderer | None = None) -> RenderedPoster:
    """Draw `facts` (already masked: see `handlers.poster.facts`) as a PNG.

    `renderer` is the app's template service (`services.renderer`); without one the shipped
    templates are read directly (the same files).
    """
    words = Words(renderer or _shipped_renderer(), facts)
    with _DRAWING:
        page = _plan(facts, words)
        height = plan_height(page, MIN_HEIGHT, MAX_HEIGHT)
        canvas = Canvas(WIDTH, height, BACKGROUND)
        page.draw(canvas, height)
        return RenderedPoster(canvas.png(), tuple(canvas.texts), WIDTH, height)


def _plan(facts: PosterFacts, words: Words) -> Page:
    blocks = [_header(facts, words), _headline(facts, words)]
    if facts.sold_out:
        heading = words("sold_out_heading", count=len(facts.sold_out))
        rows = [ListRow(name, "") for name in facts.sold_out]
        blocks.append(_list(words, heading, rows, "more_products", ranked=False))
    elif facts.best_sellers:
        rows = [ListRow(p.name, words("quantity", units=p.units)) for p in facts.best_sellers]
        blocks.append(_list(words, words("best_heading"), rows, "more_products", ranked=False))
    if facts.top_groups:
        rows = [
            ListRow(g.name, words("group_value", gmv_cents=g.gmv_cents, units=g.units))
            for g in facts.top_groups
        ]
        blocks.append(_list(words, words("groups_heading"), rows, "more_groups", ranked=True))
    blocks.append(_thanks(words.thanks()))
    blocks.append(_footer(words("footer", bot_name=facts.bot_name)))
    return Page(blocks)


def _slot(left: float, top: int, right: float, size: int) -> Box:
    return (int(left), top, int(right), top + line_height(size))


def _in_row(row_top: int, size: int) -> int:
    """The top of a line of `size` centred in a list row."""
    return row_top + (ROW - line_height(size)) // 2


# ----------------------------------------------------------------------------------------------- blocks
def _header(facts: PosterFacts, words: Words) -> Block:
    left, right = MARGIN + 16, WIDTH - MARGIN - 16
    inner = right - left
    kicker = ellipsize(words("kicker"), 32, inner)
    title = fit(drawable(facts.title), inner - BOLD_SLACK, 3, sizes(72, 44, 4))
    subtitle = ellipsize(words("subtitle", at=facts.at, closed=facts.closed, groups=facts.groups), 30, inner)
    pitch = line_height(title.size)
    height = 72 + line_height(32) + 12 + pitch * len(title.lines) + 14 + line_height(30) + 52
    overlap = 130  # the band runs on behind the top of the headline card

    def draw(canvas: Canvas, top: int) -> None:
        canvas.gradient((0, 0, WIDTH, top + height + overlap), BAND_TOP, BAND_BOTTOM)
        y = top + 72
        canvas.text(kicker, _slot(left, y, right, 32), 32, ON_BAND_SOFT, role="kicker", align="center")
        y += line_height(32) + 12
        for line in title.lines:
            slot = _slot(left, y, right, title.size)
            canvas.text(line, slot, title.size, ON_BAND, role="title", align="center", bold=True)
            y += pitch
        slot = _slot(left, y + 14, right, 30)
        canvas.text(subtitle, slot, 30, ON_BAND_SOFT, role="subtitle", align="center")

    return Block.fixed(height, draw, gap_before=0)


def _headline(facts: PosterFacts, words: Words) -> Block:
    left, right = MARGIN, WIDTH - MARGIN
    inner_left, inner_right = left + PAD, right - PAD
    label = ellipsize(words("headline_label"), 32, inner_right - inner_left)
    figure = words("headline_value", gmv_cents=facts.gmv_cents, units=facts.units)
    value = fit(figure, inner_right - inner_left - BOLD_SLACK, 1, sizes(112, 56, 4))
    second = ("units", facts.units) if facts.show == "gmv" else ("orders", facts.orders)
    stats = [("buyers", facts.buyers), second, ("sell_through", facts.sell_through)]
    column = (inner_right - inner_left) / 3
    figures = [words("stat_value", stat=stat, value=number) for stat, number in stats]
    stat_size = min(fit(f, column - 24, 1, sizes(52, 32, 4)).size for f in figures)  # one size: one row
    cells = [
        (ellipsize(f, stat_size, column - 24), ellipsize(words("stat_label", stat=stat), 28, column - 24))
        for f, (stat, _n) in zip(figures, stats, strict=True)
    ]
    value_pitch = line_height(value.size)
    stats_height = line_height(stat_size) + 4 + line_height(28)
    height = PAD + line_height(32) + value_pitch + 20 + 2 + 26 + stats_height + PAD - 8

    def draw(canvas: Canvas, top: int) -> None:
        box = (left, top, right, top + height)
        canvas.shadow(box, 36)
        canvas.card(box, 36, CARD)
        y = top + PAD
        slot = _slot(inner_left, y, inner_right, 32)
        canvas.text(label, slot, 32, MUTED, role="headline_label", align="center")
        y += line_height(32)
        for line in value.lines:
            slot = _slot(inner_left, y, inner_right, value.size)
            canvas.text(line, slot, value.size, ACCENT, role="headline", align="center", bold=True)
        y += value_pitch + 20
        canvas.rule(inner_left, inner_right, y, RULE)
        y += 2 + 26
        for index, (number, caption) in enumerate(cells):
            cell_left = inner_left + column * index
            if index:
                canvas.rule_vertical(int(cell_left), y + 8, y + stats_height - 8, RULE)
            cell_right = cell_left + column - 12
            slot = _slot(cell_left + 12, y, cell_right, stat_size)
            canvas.text(number, slot, stat_size, INK, role="stat", align="center")
            slot = _slot(cell_left + 12, y + line_height(stat_size) + 4, cell_right, 28)
            canvas.text(caption, slot, 28, MUTED, role="stat_label", align="center")

    return Block.fixed(height, draw, gap_before=0)


def _list(words: Words, heading: str, rows: list[ListRow], more: str, *, ranked: bool) -> Block:
    """A card with a heading and a row per item; the page may show fewer rows, then the `more`
    slot's "…等N件" for the rest."""
    left, right = MARGIN, WIDTH - MARGIN
    inner_left, inner_right = left + PAD, right - PAD
    head = ellipsize(heading, 38, inner_right - inner_left - 24 - BOLD_SLACK)
    head_height = PAD - 6 + line_height(38) + 10

    def height_for(shown: int) -> int:
        return head_height + ROW * (shown + (1 if shown < len(rows) else 0)) + PAD - 20

    def draw(canvas: Canvas, top: int, shown: int) -> None:
        box = (left, top, right, top + height_for(shown))
        canvas.shadow(box, 32)
        canvas.card(box, 32, CARD)
        y = top + PAD - 6
        canvas.bar((inner_left, y + 12, inner_left + 8, y + line_height(38) - 12), ACCENT)
        canvas.text(head, _slot(inner_left + 24, y, inner_right, 38), 38, INK, role="heading", bold=True)
        y += line_height(38) + 10
        for index, row in enumerate(rows[:shown]):
            _row(canvas, row, index if ranked else None, y, inner_left, inner_right)
            y += ROW
        if shown < len(rows):
            text = ellipsize(words(more, count=len(rows) - shown), 30, inner_right - inner_left - 32)
            canvas.text(text, _slot(inner_left + 32, _in_row(y, 30), inner_right, 30), 30, MUTED, role="more")

    return Block(height_for, draw, rows=len(rows))


def _row(canvas: Canvas, row: ListRow, rank: int | None, top: int, left: int, right: int) -> None:
    middle = top + ROW // 2
    if rank is not None:
        canvas.dot((left + 22, middle), 22, MEDALS[min(rank, len(MEDALS) - 1)])
        digit = str(rank + 1)
        _l, ink_top, _r, ink_bottom = font(26).getbbox(digit)  # centre the figure's ink, not its line
        badge = (left, middle - 22, left + 44, middle + 22)
        ink_middle = int(ink_top + ink_bottom) // 2
        canvas.text(digit, badge, 26, CARD, role="rank", align="center", top=middle - ink_middle)
        name_left = left + 64
    else:
        canvas.dot((left + 10, middle), 7, ACCENT)
        name_left = left + 32
    name_right = right
    if row.value:
        value = ellipsize(row.value, 32, (right - name_left) / 2)
        value_left = right - width_of(value, 32)
        slot = _slot(value_left - 2, _in_row(top, 32), right, 32)
        canvas.text(value, slot, 32, ACCENT, role="value", align="right")
        name_right = int(value_left - 24)
    name = fit(drawable(row.name), name_right - name_left, 1, sizes(34, 28, 2))
    if name.lines:
        slot = _slot(name_left, _in_row(top, name.size), name_right, name.size)
        canvas.text(name.lines[0], slot, name.size, INK, role="name")


def _thanks(text: str) -> Block:
    left, right = MARGIN + 48, WIDTH - MARGIN - 48
    fitted = fit(text, right - left, 3, sizes(38, 28, 2))
    pitch = line_height(fitted.size)

    def draw(canvas: Canvas, top: int) -> None:
        for index, line in enumerate(fitted.lines):
            slot = _slot(left, top + pitch * index, right, fitted.size)
            canvas.text(line, slot, fitted.size, THANKS_INK, role="thanks", align="center")

    return Block.fixed(pitch * len(fitted.lines), draw)


def _footer(text: str) -> Block:
    left, right = MARGIN, WIDTH - MARGIN
    shown = ellipsize(text, 26, right - left)

    def draw(canvas: Canvas, top: int) -> None:
        canvas.text(shown, _slot(left, top, right, 26), 26, MUTED, role="footer", align="center")

    return Block.fixed(line_height(26), draw, pinned=True)


__all__ = ["MAX_HEIGHT", "MIN_HEIGHT", "MIN_SIZE", "WIDTH", "RenderedPoster", "Words", "render_poster"]
