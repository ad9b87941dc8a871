"""A waiting notice post is rendered row by row, each row's line kept (handlers/selling/notices.py).

Why: the post is re-rendered at every new notice, and late in a sale it held dozens of rows of
which one had changed. The text must stay exactly what the whole template renders.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.templates import Renderer
from handlers.selling.notices import Notice, NoticeBoard

KINDS: list[tuple[str, tuple[tuple[str, Any], ...]]] = [
    ("not_open", (("opens_at", datetime(2026, 12, 5, 12, 0, tzinfo=UTC)),)),
    ("not_open", (("opens_at", None),)),
    ("opened_since", ()),
    ("closed", ()),
    ("sold_out", (("code", "A1"), ("product", "丹东草莓"))),
    ("sold_out", (("code", "A2"), ("product", "赣南脐橙"))),
    ("partial_stock", (("code", "A1"), ("product", "丹东草莓"), ("filled", 2))),
    ("partial_limit", (("code", "A2"), ("limit", 3), ("filled", 1))),
    ("limit", (("code", "A1"), ("limit", 5))),
    ("unknown", (("refs", "Z9"),)),
    ("which", (("example", "A1"),)),
    ("cancelled", (("what", "A1×2"),)),
    ("nothing_to_cancel", ()),
    ("cancel_closed", ()),
    ("busy", ()),
]


def _whole(renderer: Renderer, items: list[Notice]) -> str:
    """The post as the template renders all its rows at once (the text before rows were kept)."""
    groups: dict[tuple[str, tuple[tuple[str, Any], ...]], list[str]] = {}
    for item in items:
        names = groups.setdefault((item.kind, item.data), [])
        if item.name not in names:
            names.append(item.name)
    rows = [{"kind": kind, "names": names, **dict(data)} for (kind, data), names in groups.items()]
    return renderer.render("orders/notices.j2", rows=rows)


def test_a_post_kept_row_by_row_reads_as_the_whole_template_renders_it() -> None:
    renderer = Renderer()
    board = NoticeBoard(outbox=None, render=renderer.render)  # type: ignore[arg-type]
    rng = random.Random(7)
    items: list[Notice] = []
    for step in range(300):  # one post growing, as a busy group's does
        kind, data = rng.choice(KINDS)
        member = f"u{rng.randrange(40)}"
        items.append(Notice(kind, member, rng.choice(["阿花", "小白", "王姐🌸", f"成员{member}"]), data))
        text, mentions = board._text(items)
        assert text == _whole(renderer, items), f"step {step}"
        assert mentions == tuple(dict.fromkeys(item.member_id for item in items))
    assert len(board._rows) == len(KINDS) and all(board._rows.values())  # each row rendered once, names apart


def test_a_template_that_does_more_with_the_names_is_rendered_as_it_says(tmp_path: Path) -> None:
    """An edited template may count the names or join them otherwise: then no stand-in is used."""
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "notices.j2").write_text(
        "{% for row in rows %}\n{{ row.kind }} {{ row.names | length }}人：{{ row.names | join('、') }}\n"
        "{% endfor %}\n",
        encoding="utf-8",
    )
    renderer = Renderer(tmp_path)
    board = NoticeBoard(outbox=None, render=renderer.render)  # type: ignore[arg-type]
    items: list[Notice] = []
    for n, name in enumerate(["阿花", "小白", "阿花", "王姐"]):
        items.append(Notice("sold_out", f"m{n}", name, (("code", "A1"),)))
        assert board._text(items)[0] == _whole(renderer, items)
    assert board._text(items)[0] == "sold_out 3人：阿花、小白、王姐"
