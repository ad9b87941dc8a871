"""Fitting text by measuring it: wrap, shrink, then cut with an ellipsis; never wider than the slot."""

from __future__ import annotations

import random

from handlers.poster.fonts import drawable
from handlers.poster.layout import ELLIPSIS, ellipsize, fit, sizes, width_of, wrap

TEXT = "丹东99红颜草莓（3斤装），赣南脐橙 Navel Orange 10斤装！新疆阿克苏冰糖心苹果、海南金煌芒"


def test_wrapped_lines_fit_and_keep_every_character_in_order() -> None:
    rng = random.Random(7)
    for _ in range(200):
        text = "".join(rng.choice(TEXT) for _ in range(rng.randint(1, 120))).strip()
        width = rng.randint(120, 900)
        size = rng.choice((28, 36, 48, 72))
        lines = wrap(text, size, width)
        assert all(width_of(line, size) <= width for line in lines), (text, width)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_no_line_starts_with_closing_punctuation_nor_ends_with_opening() -> None:
    for width in range(150, 700, 7):
        lines = wrap(TEXT, 36, width)
        assert not any(line[0] in "，。、！）：" for line in lines[1:]), (width, lines)
        assert not any(line[-1] in "（《" for line in lines), (width, lines)


def test_latin_words_and_numbers_stay_whole_when_they_can() -> None:
    lines = wrap("赣南脐橙 Navel Orange 10斤装", 36, 260)
    assert "Navel" in "".join(lines) and all(not line.endswith("Nav") for line in lines)
    assert any(line.startswith("10") or "10斤" in line for line in lines)


def test_fit_shrinks_before_it_cuts_and_cuts_with_an_ellipsis() -> None:
    short = fit("周末鲜果团", 900, 3, sizes(72, 44, 4))
    assert short.size == 72 and short.lines == ("周末鲜果团",) and not short.cut
    longer = fit("周末鲜果团" * 6, 900, 2, sizes(72, 44, 4))
    assert 44 < longer.size < 72 and len(longer.lines) == 2 and not longer.cut
    endless = fit("周末鲜果团" * 40, 900, 3, sizes(72, 44, 4))
    assert endless.size == 44 and len(endless.lines) == 3 and endless.cut
    assert endless.lines[-1].endswith(ELLIPSIS) and all(width_of(line, 44) <= 900 for line in endless.lines)


def test_ellipsize_keeps_what_fits_and_marks_the_cut() -> None:
    assert ellipsize("团购一群", 36, 600) == "团购一群"
    cut = ellipsize("幸福里小区业主团购群" * 5, 36, 400)
    assert cut.endswith(ELLIPSIS) and width_of(cut, 36) <= 400
    assert width_of(cut[:-1] + "幸" + ELLIPSIS, 36) > 400  # not one character more would fit


def test_drawable_drops_what_the_font_cannot_draw() -> None:
    assert drawable("🍓🍊 周末\n鲜果团 🎉") == "周末 鲜果团"
    assert drawable("丹东草莓\u200d\ufe0f") == "丹东草莓"
