"""What a results poster shows (`PosterFacts`): plain, typed data, already masked.

`handlers.poster.facts` fills it from the results computations; `handlers.poster.render` draws
it. Tests and the board may build one directly. Names in it are as a group may see them (the
outbox's group mask applied): a picture is never masked on its way out, so the facts are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Show = Literal["gmv", "units"]


@dataclass(frozen=True)
class ProductFigure:
    """A product and how many units of it sold."""

    name: str
    units: int


@dataclass(frozen=True)
class GroupFigure:
    """A group's sales, for the ranking: its name and what it sold."""

    name: str
    gmv_cents: int
    units: int
    buyers: int


@dataclass(frozen=True)
class PosterFacts:
    """The figures and words of one campaign's poster.

    `show` picks the headline: GMV (gross, before discounts, as the results post) or units, for
    leaders who do not publish money; with "units" no money appears anywhere on the poster.
    `sold_out` lists sold-out products in file order; `best_sellers` (the three that sold most)
    is shown instead when none sold out. `top_groups` is already ranked and cut to the campaign's
    `poster.top_groups`. `thanks` empty means the template's default line. `at` is the closing
    instant when `closed`, else when the figures were read.
    """

    campaign_id: str
    title: str
    show: Show
    gmv_cents: int
    units: int
    orders: int
    buyers: int
    sell_through: float
    groups: int
    sold_out: tuple[str, ...]
    best_sellers: tuple[ProductFigure, ...]
    top_groups: tuple[GroupFigure, ...]
    thanks: str
    at: datetime
    closed: bool
    bot_name: str


__all__ = ["GroupFigure", "PosterFacts", "ProductFigure", "Show"]
