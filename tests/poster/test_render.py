"""Acceptance (issue 19, point 3): generated results render without text clipped or off the picture.

Twenty results, generated from a fixed seed: titles from two characters to far too long (with
emoji the font lacks), 1 to 12 products with names short and long, all sold out or none,
long group names, GMV and units modes. Each poster is checked by the boxes Pillow says its
glyphs cover: inside the picture and inside the slot the layout gave them, no two overlapping,
no text smaller than readable, and every character drawn one the font has (read from the
font's character map with fontTools, independently of the renderer).
"""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from itertools import combinations

import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from handlers.poster import GroupFigure, PosterFacts, ProductFigure, render_poster
from handlers.poster.canvas import TextBox
from handlers.poster.fonts import font_path
from handlers.poster.render import MAX_HEIGHT, MIN_HEIGHT, MIN_SIZE, WIDTH, RenderedPoster

SEED = 2026
CASES = 20
WORDS = "丹东草莓赣南脐橙海南金煌芒新疆阿克苏冰糖心苹果云南蓝莓烟台栖霞周末鲜果团产地直发当天采摘特价"
PUNCTUATION = "，、（）：！"
EMOJI = "🍓🍊🎉🙏"


@pytest.fixture(scope="module")
def cmap() -> frozenset[int]:
    with TTFont(str(font_path()), lazy=True) as ttf:
        return frozenset(ttf.getBestCmap())


def _text(rng: random.Random, low: int, high: int) -> str:
    length = rng.randint(low, high)
    chars = [rng.choice(WORDS) for _ in range(length)]
    for _ in range(rng.randint(0, 2)):
        chars.insert(rng.randrange(len(chars) + 1), rng.choice(PUNCTUATION + " "))
    if rng.random() < 0.3:
        chars.insert(0, rng.choice(EMOJI))
    if rng.random() < 0.3:
        chars.append(f" {rng.randint(1, 99)}斤装A{rng.randint(1, 9)}")
    return "".join(chars)


def generated(index: int) -> PosterFacts:
    """The `index`-th generated result; the first ones pin the extremes, the rest are random."""
    rng = random.Random(SEED * 100 + index)
    products = [1, 12, 12, 1][index] if index < 4 else rng.randint(1, 12)
    names = [_text(rng, 2, 40 if index % 3 == 0 else 10) for _ in range(products)]
    units = [rng.randint(0, 500) for _ in names]
    every_one = index % 2 == 0
    sold_out = (
        tuple(names)
        if every_one
        else ()
        if index % 4 == 1
        else tuple(rng.sample(names, rng.randint(0, products)))
    )
    title = (
        ["团", "超长标题" * 30, _text(rng, 40, 90), "🍓🍊 周末鲜果团"][index]
        if index < 4
        else _text(rng, 2, 70)
    )
    groups = rng.randint(1, 8)
    group_names = [("幸福里小区业主团购群" * rng.randint(1, 4))[: rng.randint(2, 36)] for _ in range(groups)]
    ranked = tuple(
        GroupFigure(name, rng.randint(100, 99_999_999), rng.randint(1, 9999), rng.randint(1, 999))
        for name in group_names[: rng.randint(0, 5)]
    )
    top = tuple(
        ProductFigure(n, u) for n, u in sorted(zip(names, units, strict=True), key=lambda x: -x[1])[:3] if u
    )
    return PosterFacts(
        campaign_id=f"gen-{index}",
        title=title,
        show="units" if index % 3 == 1 else "gmv",
        gmv_cents=rng.choice([0, 990, 123_456, 99_999_999_999]),
        units=rng.randint(0, 99_999),
        orders=rng.randint(0, 99_999),
        buyers=rng.randint(1, 9_999),
        sell_through=rng.random(),
        groups=groups,
        sold_out=sold_out,
        best_sellers=top,
        top_groups=ranked if groups > 1 else (),
        thanks="" if index % 5 else _text(rng, 10, 80),
        at=datetime(2026, 12, 6, 12, rng.randint(0, 59), tzinfo=UTC),
        closed=index % 7 != 3,
        bot_name="团购小助手" if index % 6 else "非常非常长的机器人名字" * 8,
    )


def _overlap(a: TextBox, b: TextBox) -> bool:
    return a.box[0] < b.box[2] and b.box[0] < a.box[2] and a.box[1] < b.box[3] and b.box[1] < a.box[3]


def _inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return outer[0] <= inner[0] <= inner[2] <= outer[2] and outer[1] <= inner[1] <= inner[3] <= outer[3]


@pytest.mark.parametrize("index", range(CASES))
def test_generated_results_render_inside_the_picture_without_overlap(
    index: int, cmap: frozenset[int]
) -> None:
    facts = generated(index)
    poster = render_poster(facts)
    picture = Image.open(io.BytesIO(poster.png))
    assert picture.format == "PNG" and picture.size == (WIDTH, poster.height) == (poster.width, poster.height)
    assert MIN_HEIGHT <= poster.height <= MAX_HEIGHT + 400
    whole = (0, 0, WIDTH, poster.height)
    for drawn in poster.boxes:
        assert drawn.text.strip(), drawn
        assert _inside(drawn.box, whole), f"off the picture: {drawn}"
        assert _inside(drawn.box, drawn.slot), f"outside its slot (clipped or overflowing): {drawn}"
        assert drawn.size >= MIN_SIZE, drawn
        missing = {ch for ch in drawn.text if ord(ch) not in cmap}
        assert not missing, f"drawn as empty boxes (no glyph): {missing} in {drawn.text!r}"
    for a, b in combinations(poster.boxes, 2):
        assert not _overlap(a, b), f"overlap: {a} / {b}"
    _shows_what_it_should(facts, poster)


def _shows_what_it_should(facts: PosterFacts, poster: RenderedPoster) -> None:
    roles = [b.role for b in poster.boxes]
    assert roles.count("title") in (1, 2, 3) and roles.count("headline") == 1
    money = [b.text for b in poster.boxes if "¥" in b.text]
    if facts.show == "units":
        assert money == [], "a units poster shows no money"
    else:
        assert any(b.role == "headline" and b.text.startswith("¥") for b in poster.boxes)
    listed = facts.sold_out or tuple(p.name for p in facts.best_sellers)
    more = [b.text for b in poster.boxes if b.role == "more"]
    shown_products = roles.count("name") - roles.count("rank")  # each group row has a rank badge
    shown_groups = roles.count("rank")
    if shown_groups < len(facts.top_groups):
        assert f"…等{len(facts.top_groups) - shown_groups}个群" in more
    if listed:
        hidden = len(listed) - shown_products
        if hidden:
            assert f"…等{hidden}件" in more, (hidden, more)
        else:
            assert not any(m.endswith("件") for m in more)
    if "…" in "".join(b.text for b in poster.boxes if b.role == "title"):
        assert len(facts.title) > 40  # only a title that cannot fit three lines is cut


def test_the_extremes_are_in_the_twenty() -> None:
    facts = [generated(i) for i in range(CASES)]
    products = [len(f.sold_out) or len(f.best_sellers) for f in facts]
    assert {1, 12} <= {len(f.sold_out) for f in facts} | set(products)
    assert any(not f.sold_out for f in facts) and any(f.sold_out and len(f.sold_out) >= 12 for f in facts)
    assert {"gmv", "units"} == {f.show for f in facts}
    assert min(len(f.title) for f in facts) <= 2 and max(len(f.title) for f in facts) > 100
    assert any(len(g.name) > 20 for f in facts for g in f.top_groups)


def test_a_long_list_is_cut_to_the_height_with_the_count_left() -> None:
    facts = generated(1)  # twelve products, none sold out: the best sellers (at most three)
    twelve = generated(2)
    poster = render_poster(twelve)
    assert poster.height <= MAX_HEIGHT
    shown = sum(1 for b in poster.boxes if b.role == "name") - sum(
        1 for b in poster.boxes if b.role == "rank"
    )
    assert 0 < shown < 12
    assert f"…等{12 - shown}件" in [b.text for b in poster.boxes if b.role == "more"]
    assert len([b for b in render_poster(facts).boxes if b.role == "more" and b.text.endswith("件")]) == 0


def test_the_same_facts_draw_the_same_picture() -> None:
    assert render_poster(generated(5)).png == render_poster(generated(5)).png


def test_characters_the_font_lacks_are_left_out_not_drawn_as_boxes(cmap: frozenset[int]) -> None:
    facts = generated(3)  # "🍓🍊 周末鲜果团"
    titles = [b.text for b in render_poster(facts).boxes if b.role == "title"]
    assert titles == ["周末鲜果团"]
    assert all(ord(ch) in cmap for ch in "".join(titles))
