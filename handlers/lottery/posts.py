"""The lottery's posts: the commitment, the result, the numbered list in parts, the winners' notes.

Every text is a template under `templates/lottery/`; this module only picks the variables and
cuts the list into posts that each fit the outbox's message size (`COALESCE_MAX_CHARS`, the
longest text the outbox builds itself), measured as the group will see it (masked), so a
thousand entrants make a few dozen posts of whole lines, numbered "1/12", "2/12"…, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.campaign.models import Campaign
from bot.context import Services
from bot.group_filter import mask_group_text
from bot.outbox import Draft
from bot.outbox_merge import COALESCE_MAX_CHARS
from bot.vocab import Priority
from handlers.lottery.fairness import entry_tag
from handlers.lottery.prizes import coupon_of
from handlers.lottery.store import Drawn, Lottery

LIST_MAX_CHARS = COALESCE_MAX_CHARS
LIST_KIND = "lottery_list"


@dataclass(frozen=True)
class Words:
    """What every lottery text says about the lottery: its campaign, prize and pool rule."""

    services: Services
    campaign: Campaign | None  # None once its file was unloaded: the lottery can still be cancelled
    campaign_id: str
    group_name: str

    def render(self, template: str, **variables: Any) -> str:
        return self.services.renderer.render(
            f"lottery/{template}", bot_name=self.services.config.bot.name, **variables
        )

    def about(self, lottery: Lottery) -> dict[str, Any]:
        campaign = self.campaign
        coupon = (
            coupon_of(campaign, lottery.prize_coupon_id) if campaign and lottery.prize_coupon_id else None
        )
        products = campaign.products if campaign is not None and coupon is not None else []
        return {
            "title": campaign.title if campaign is not None else self.campaign_id,
            "group": self.group_name,
            "lottery": lottery,
            "points": lottery.prize_points,
            "coupon": coupon,
            "product_names": [p.name for p in products if coupon and p.code in coupon.products],
        }

    # -- the posts ------------------------------------------------------------------------
    def started(
        self, lottery: Lottery, *, pool_now: int, fell_back: bool, closes_at: datetime
    ) -> list[Draft]:
        text = self.render(
            "started.j2", pool_now=pool_now, fell_back=fell_back, closes_at=closes_at, **self.about(lottery)
        )
        return [Draft(text=text, group_id=lottery.group_id, priority=Priority.COMMAND, kind="lottery")]

    def cancelled(self, lottery: Lottery) -> list[Draft]:
        text = self.render("cancelled.j2", **self.about(lottery))
        return [Draft(text=text, group_id=lottery.group_id, priority=Priority.COMMAND, kind="lottery")]

    def drawn(self, drawn: Drawn) -> list[Draft]:
        """The result (seed, winners, the snippet), the list in parts, and each winner's private note."""
        lottery = drawn.lottery
        about = self.about(lottery)
        seed = lottery.seed
        winners = [(w.number, w.entrant.name, entry_tag(seed, w.entrant.member_id)) for w in drawn.winners]
        result = self.render("drawn.j2", n=len(drawn.entrants), winners=winners, **about)
        drafts = [Draft(text=result, group_id=lottery.group_id, priority=Priority.COMMAND, kind="lottery")]
        lines = [
            self.render("entry.j2", number=i, name=e.name, tag=entry_tag(seed, e.member_id))
            for i, e in enumerate(drawn.entrants, start=1)
        ]
        parts = self.list_parts(lines, about)
        drafts += [Draft(text=t, group_id=lottery.group_id, kind=LIST_KIND) for t in parts]
        for w in drawn.winners:
            note = self.render(
                "won.j2",
                number=w.number,
                name=w.entrant.name,
                prize_ref=w.prize_ref,
                n=len(drawn.entrants),
                **about,
            )
            drafts.append(Draft(text=note, member_id=w.entrant.member_id, kind="private"))
        return drafts

    def list_parts(self, lines: list[str], about: dict[str, Any]) -> list[str]:
        """`lines` packed into as few posts as fit `LIST_MAX_CHARS` each, masked, whole lines only."""
        chunks: list[list[str]] = [[]]
        size = 0
        room = LIST_MAX_CHARS - _sent_length(self._list_text([], 999, 999, about))
        for line in lines:
            cost = _sent_length(line) + 1
            if chunks[-1] and size + cost > room:
                chunks.append([])
                size = 0
            chunks[-1].append(line)
            size += cost
        total = len(chunks)
        return [self._list_text(chunk, i, total, about) for i, chunk in enumerate(chunks, start=1)]

    def _list_text(self, lines: list[str], part: int, parts: int, about: dict[str, Any]) -> str:
        return self.render("list.j2", lines=lines, part=part, parts=parts, **about)


def _sent_length(text: str) -> int:
    """The most characters `text` can take once the group filter has passed over it (masked, or
    kept as published)."""
    return max(len(text), len(mask_group_text(text)))


__all__ = ["LIST_KIND", "LIST_MAX_CHARS", "Words"]
