"""When a group hears about stock between scheduled posts, and how those posts are coalesced.

Stock is one pool per campaign shared by all its groups (one warehouse), so a
sell-out is news in every group the campaign runs in. Threshold posts are
coalesced per group: at most one per the campaign's `broadcasts.window`
(default 60 s); a queued post is replaced by a fresher rendering, and a post
that would say nothing new (no product newly below the low-stock threshold or
newly sold out) is not sent at all.

The announcer reads the stock the order writer last committed (the selling
runtime's mirror), so answering a batch costs no database read on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.campaign import Campaign
from bot.context import Services
from bot.vocab import Priority
from handlers.selling.ops import StockLine


class SellingParts(Protocol):
    """What the announcer uses of the selling runtime (`handlers.selling.service.Selling`)."""

    services: Services

    def campaign(self, campaign_id: str) -> Campaign | None: ...
    def groups_of(self, campaign: Campaign) -> list[str]: ...
    def status(self, campaign_id: str, group_id: str) -> str: ...
    def times(self, campaign: Campaign) -> tuple[datetime, datetime]: ...
    def stock_lines(self, campaign_id: str) -> list[StockLine]: ...
    def state_stamp(self) -> tuple[int, int]: ...
    def render(self, template: str, **variables: Any) -> str: ...


LOW = "low"
SOLD_OUT = "sold_out"
PASS_CHUNK = 100
"""Groups a threshold pass posts into before the loop reads chat again: a sell-out over 1,000
groups posted in one step stalled the loop 20-60 ms in a flood (docs/performance.md)."""
HOT_SHARE = 0.3
"""A broadcast says 火热 once this share of all units has sold (or something runs low): not for 2 of 250."""


def level(line: StockLine, threshold: float) -> str:
    """ok, low (below `threshold` of all units made available) or sold_out."""
    if line.stock <= 0:
        return SOLD_OUT
    if line.total and line.stock < line.total * threshold:
        return LOW
    return "ok"


def stock_rows(
    campaign: Campaign, lines: list[StockLine], news: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """What the stock templates show per product."""
    threshold = campaign.broadcasts.low_stock_threshold
    return [
        {
            "code": line.product_code,
            "name": line.name,
            "price_cents": line.price_cents,
            "unit": line.unit,
            "limit": line.limit_per_member,
            "stock": line.stock,
            "total": line.total,
            "sold": line.sold,
            "level": level(line, threshold),
            "news": bool(news and line.product_code in news),
        }
        for line in lines
    ]


@dataclass
class _Board:
    """Stock-post state of one campaign in one group."""

    last_at: datetime | None = None  # when the latest stock post was due to leave
    outbox_id: int | None = None
    levels: dict[str, str] = field(default_factory=dict)  # what the group has been told
    pending: dict[str, str] = field(default_factory=dict)  # news in the queued post
    last_sold: int = -1  # units sold as the last scheduled post (opening, broadcast) showed them


class StockAnnouncer:
    """Decides when a group hears about stock, and coalesces what it hears."""

    def __init__(self, sell: SellingParts) -> None:
        self.sell = sell
        self.boards: dict[tuple[str, str], _Board] = {}
        # Per campaign: the (group states, stock levels) of the last full pass of `after_sales`.
        # After that pass every open group's board agrees with those levels, so while neither
        # moves, and no board was handed out (`board`), a pass would post and change nothing.
        self._agreed: dict[str, tuple[tuple[int, int], dict[str, str]]] = {}
        self._handed_out = 0  # boards handed out by `board`: a pass that saw one cannot vouch for it

    def board(self, campaign_id: str, group_id: str) -> _Board:
        """A group's board, for a caller that may change what the group counts as told."""
        self._agreed.pop(campaign_id, None)
        self._handed_out += 1
        return self.boards.setdefault((campaign_id, group_id), _Board())

    def after_sales(self, campaign_id: str) -> Iterator[None]:
        """After orders, cancellations or a restock committed: post what crossed a threshold.

        Called after every committed batch; most batches move no product across a threshold,
        and then this costs one comparison instead of a pass over every group of the campaign.
        A pass yields every `PASS_CHUNK` groups: the order writer reads chat between.
        """
        campaign = self.sell.campaign(campaign_id)
        if campaign is None:
            return
        lines = self.sell.stock_lines(campaign_id)
        threshold = campaign.broadcasts.low_stock_threshold
        levels = {line.product_code: level(line, threshold) for line in lines}
        stamp = self.sell.state_stamp()
        if self._agreed.get(campaign_id) == (stamp, levels):
            return
        self._agreed.pop(campaign_id, None)
        handed_out = self._handed_out
        texts: dict[tuple[tuple[str, str], ...], str] = {}  # one rendering per distinct news in this pass
        for n, group_id in enumerate(self.sell.groups_of(campaign)):
            if n and n % PASS_CHUNK == 0:
                yield
            if self.sell.status(campaign_id, group_id) != "open":
                continue
            board = self.boards.setdefault((campaign_id, group_id), _Board())
            news = {
                code: lvl for code, lvl in levels.items() if lvl != "ok" and board.levels.get(code) != lvl
            }
            for code, lvl in levels.items():
                if lvl == "ok":
                    board.levels.pop(code, None)  # restocked: a later drop is news again
            if news:
                self.post(campaign, group_id, lines, news, texts)
        if self.sell.state_stamp() == stamp and self._handed_out == handed_out:
            self._agreed[campaign_id] = (stamp, levels)

    def post(
        self,
        campaign: Campaign,
        group_id: str,
        lines: list[StockLine],
        news: dict[str, str],
        texts: dict[tuple[tuple[str, str], ...], str] | None = None,
    ) -> None:
        """Queue (or grow the queued) stock post of one group. `texts`: the renderings of this
        pass over the campaign's groups, by highlighted news: every group of a campaign hears the
        same news of the same stock, so a sell-out over 1,000 groups renders once, not 1,000
        times on the event loop (60-70 ms, docs/performance.md)."""
        services = self.sell.services
        texts = {} if texts is None else texts
        board = self.boards.setdefault((campaign.id, group_id), _Board())
        now = services.clock.now()
        window = campaign.broadcasts.window.total_seconds()
        if board.outbox_id is not None:
            board.last_at = _sent_at(self.sell, board.outbox_id) or board.last_at
        delay = 0.0 if board.last_at is None else max(0.0, (board.last_at - now).total_seconds() + window)
        key = f"stock:{campaign.id}"

        def render(highlight: dict[str, str]) -> str:
            news_key = tuple(sorted(highlight.items()))
            text = texts.get(news_key)
            if text is None:
                text = texts[news_key] = self.sell.render(
                    "stock/board.j2",
                    reason="alert",
                    title=campaign.title,
                    rows=stock_rows(campaign, lines, highlight),
                    closes_at=self.sell.times(campaign)[1],
                )
            return text

        grown, fresh = {**board.pending, **news}, dict(news)
        outbox_id = services.outbox.roll(
            board.outbox_id,
            lambda grow: (render(grown if grow else fresh), ()),
            group_id=group_id,
            replace_key=key,
            delay=delay,
            priority=Priority.CAMPAIGN,
            kind="stock",
        )
        if outbox_id != board.outbox_id:
            board.last_at = now + timedelta(seconds=delay)
        board.pending = grown if outbox_id == board.outbox_id else fresh
        board.outbox_id = outbox_id
        board.levels.update(news)

    def mark_posted(self, campaign: Campaign, group_id: str, lines: list[StockLine], now: datetime) -> None:
        """A scheduled post (open, broadcast) just showed the stock: count it in the window."""
        board = self.board(campaign.id, group_id)
        threshold = campaign.broadcasts.low_stock_threshold
        board.last_at = now
        board.levels = {
            line.product_code: level(line, threshold) for line in lines if level(line, threshold) != "ok"
        }
        board.last_sold = sum(line.sold for line in lines)


def _sent_at(sell: SellingParts, outbox_id: int) -> datetime | None:
    """When a stock post actually left (pacing may send it later than it was due); None if not yet."""
    return sell.services.outbox.sent_at(outbox_id)  # the outbox's memory: its table is written behind


__all__ = [
    "HOT_SHARE",
    "LOW",
    "PASS_CHUNK",
    "SOLD_OUT",
    "SellingParts",
    "StockAnnouncer",
    "level",
    "stock_rows",
]
