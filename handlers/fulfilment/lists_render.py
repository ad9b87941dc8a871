"""The lists as files: CSV (utf-8-sig, opens in Excel) and printable HTML (A4) for each.

The HTML comes from Jinja2 templates under `templates/lists/`, rendered by the app's sandboxed
renderer, which autoescapes `*.html.j2`: member names and remarks are member text, so `<script>`
prints as text.
Files go under `lists/` in the config's `exports_dir`, named like `/export`'s:
`{campaign}-{scope}-{stamp}-sorting.csv|html` and `-pickup.csv|html`.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, tzinfo
from pathlib import Path

from bot.templates import Renderer
from handlers.fulfilment.lists import CampaignLists

SORTING_HEADER = ["自提点", "商品编号", "商品", "合计", "成员ID", "成员", "数量"]
PICKUP_HEADER = ["自提点", "取货码", "成员ID", "成员", "商品", "件数", "备注", "应付", "付款", "已取货"]


def _yuan(cents: int) -> str:
    return f"{cents / 100:.2f}"


def sorting_csv(lists: CampaignLists) -> str:
    """分拣单 as CSV: one row per (point, product, member), the product's total on each row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(SORTING_HEADER)
    for point in lists.points:
        for product in point.products:
            for line in product.members:
                writer.writerow(
                    [
                        point.point,
                        product.code,
                        product.name,
                        product.total,
                        line.member_id,
                        line.member_name,
                        line.quantity,
                    ]
                )
    return buffer.getvalue()


def _paid_word(lists: CampaignLists, paid: bool) -> str:
    if paid:
        return "已付"
    return "取货时付" if lists.on_pickup else "未付"


def pickup_csv(lists: CampaignLists) -> str:
    """提货单 as CSV: one row per buyer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(PICKUP_HEADER)
    for point in lists.points:
        for entry in point.entries:
            writer.writerow(
                [
                    point.point,
                    entry.code,
                    entry.member_id,
                    entry.member_name,
                    "；".join(f"{code} {name}×{quantity}" for code, name, quantity in entry.items),
                    entry.quantity,
                    entry.remark,
                    _yuan(entry.net_cents),
                    _paid_word(lists, entry.paid),
                    "是" if entry.picked else "",
                ]
            )
    return buffer.getvalue()


def slug(text: str) -> str:
    """A file-name-safe form of a scope (a group id)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:40] or "group"


def write_lists(
    lists: CampaignLists, folder: Path, scope_slug: str, tz: tzinfo, renderer: Renderer
) -> list[Path]:
    """Write the four files (two CSV, two HTML) into `folder`; returns their paths.

    The pages go through the app's renderer, which escapes `*.html.j2` templates.
    """
    folder.mkdir(parents=True, exist_ok=True)
    when: datetime = lists.made_at.astimezone(tz)
    base = f"{lists.campaign_id}-{scope_slug}-{when:%Y%m%d-%H%M%S}"
    made_at = f"{when:%Y-%m-%d %H:%M}"
    files = {
        f"{base}-sorting.csv": sorting_csv(lists),
        f"{base}-pickup.csv": pickup_csv(lists),
        f"{base}-sorting.html": renderer.render(
            "lists/sorting.html.j2", lists=lists, heading="分拣单", made_at=made_at
        ),
        f"{base}-pickup.html": renderer.render(
            "lists/pickup.html.j2", lists=lists, heading="提货单", made_at=made_at
        ),
    }
    paths = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8-sig" if name.endswith(".csv") else "utf-8")
        paths.append(path)
    return paths


__all__ = [
    "PICKUP_HEADER",
    "SORTING_HEADER",
    "pickup_csv",
    "slug",
    "sorting_csv",
    "write_lists",
]
