"""`Gifts`: the feature's per-app runtime, hooked into the selling feature's order batches.

Why it hooks where it does: the gift must go to the first N *committed* orders, so it is decided
in each order batch's own transaction (`OrderStore.extend`, `handlers.gifts.book`), never in a
handler before or after. The messages are written in that transaction too
(`Outbox.enqueue_in`): a gift that commits has its message stored with it, and a batch that
rolls back leaves neither. They enter the send queue once the batch has committed: the order
writer's after-commit callback (on the event loop) is chained here, and a message is admitted
only if every result of its transaction is among that batch's committed results (a batch that
failed as a whole is replayed one operation per transaction, with new results, so the failed
attempt's messages are dropped). A crash between the commit and that callback loses nothing:
the rows are in the outbox table, and the next start sends them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loguru import logger
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from bot.campaign.active import ActiveCampaign
from bot.campaign.models import Campaign
from bot.context import Services
from bot.outbox import Draft
from bot.vocab import Priority
from handlers.coupons.chat import spec_for
from handlers.coupons.store import CouponSpec
from handlers.gifts.book import COUPON_SOURCE, CampaignGifts, GiftBook, GiftTerms, ref_of
from handlers.points.ledger import points_of
from handlers.selling.ops import Operation, OpResult, Restock
from handlers.selling.service import selling

if TYPE_CHECKING:
    from handlers.selling.service import Selling

SOLD_OUT_KEY = "gifts:sold_out:{}"


@dataclass(frozen=True)
class Pending:
    """Messages written in one batch transaction, waiting to hear that it committed."""

    results: tuple[OpResult, ...]
    admit: Callable[[], None]
    count: int


def gifts_of(services: Services) -> Gifts:
    """The gifts runtime of this app (made on first use)."""
    return services.get_or_make(Gifts, lambda: Gifts(services))


class Gifts:
    """Per-app state of the first-N gifts; see the module docstring."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.book = GiftBook(points_of(services))
        self.installed = False
        self._terms: dict[str, tuple[Campaign, GiftTerms | None]] = {}
        self._pending: list[Pending] = []
        self._lock = threading.Lock()  # the writer's thread appends, the loop takes

    # -- wiring --------------------------------------------------------------------------------
    def install(self) -> None:
        """Take part in every order batch from now on (once per app)."""
        if self.installed:
            return
        sell = selling(self.services)
        sell.store.extend(self.step)
        sell.committed.append(lambda ops, results: self.after_commit(results))
        self.installed = True

    @property
    def sell(self) -> Selling:
        return selling(self.services)

    # -- in the batch's transaction (the writer's thread) -----------------------------------------
    def step(self, conn: Connection, ops: list[Operation], results: list[OpResult], now: datetime) -> None:
        """Decide the batch's gifts and write their messages, in its transaction.

        A database error rolls the batch back (it is retried, as any batch); any other failure
        is logged and undone to a savepoint, and the orders commit without their gifts: a
        broken gift never stops the sale.
        """
        campaigns = {op.campaign_id for op in ops if not isinstance(op, Restock)}
        if not any(self.terms_of(campaign_id) for campaign_id in campaigns):
            return  # the common case: no campaign of the batch has gifts, nothing is read
        try:
            with conn.begin_nested():
                decided = self.book.apply(conn, ops, results, now, self.terms_of)
                drafts = [draft for outcome in decided for draft in self.drafts(outcome)]
                _, admit = self.services.outbox.enqueue_in(conn, drafts)
        except DBAPIError:
            raise
        except Exception:
            logger.opt(exception=True).error("gifts: deciding a batch's gifts failed; its orders go on")
            return
        if drafts:
            with self._lock:
                self._pending.append(Pending(tuple(results), admit, len(drafts)))

    def terms_of(self, campaign_id: str) -> GiftTerms | None:
        """The loaded campaign's gift terms (None: no `gifts:` section, or it is switched off)."""
        campaign = self.sell.campaign(campaign_id)
        if campaign is None:
            return None
        memo = self._terms.get(campaign_id)
        if memo is not None and memo[0] is campaign:
            return memo[1]
        section = campaign.gifts
        terms = None
        if section is not None and section.enabled:
            coupon = campaign.coupon(section.coupon) if section.coupon else None
            terms = GiftTerms(
                campaign_id=campaign.id,
                first=section.first,
                gift=section.gift,
                on_cancel=section.on_cancel,
                products=frozenset(section.products),
                points=section.points,
                coupon=(lambda now: self.coupon_spec(campaign, now)) if coupon is not None else None,
            )
        self._terms[campaign_id] = (campaign, terms)
        return terms

    def coupon_spec(self, campaign: Campaign, now: datetime) -> CouponSpec | None:
        """The gift coupon's terms as issued now (its window follows a leader's delay)."""
        section = campaign.gifts
        coupon = campaign.coupon(section.coupon) if section is not None and section.coupon else None
        if coupon is None:
            return None
        opens_at, closes_at = self.sell.times(campaign)
        active = ActiveCampaign(campaign, opens_at, opens_at, closes_at)
        spec = replace(
            spec_for(active, coupon, now, COUPON_SOURCE), quota=None, source_ref=ref_of(campaign.id)
        )
        if spec.valid_until is not None and spec.valid_until <= now:
            logger.bind(campaign=campaign.id, coupon=coupon.id).warning("gifts: the coupon has expired")
            return None
        return spec

    def drafts(self, outcome: CampaignGifts) -> list[Draft]:
        """The private messages and the 「已送完」 group posts of one campaign's decisions."""
        terms = outcome.terms
        campaign = self.sell.campaign(terms.campaign_id)
        title = campaign.title if campaign is not None else terms.campaign_id
        common: dict[str, Any] = {"title": title, "gift": terms.gift, "first": terms.first}
        drafts = [
            Draft(
                self.render(
                    "gifts/gifted.j2",
                    **common,
                    name=g.member_name,
                    seq=g.seq,
                    passed=g.passed,
                    points=g.points,
                    coupon_code=g.coupon_code,
                    amount_cents=self._amount(campaign) if g.coupon_code else 0,
                ),
                member_id=g.member_id,
                priority=Priority.DEFAULT,
                kind="gifts",
            )
            for g in outcome.gifted
        ]
        drafts += [
            Draft(
                self.render(
                    "gifts/withdrawn.j2",
                    **common,
                    passed_on=w.passed_on,
                    with_extras=bool(terms.points or terms.coupon),
                ),
                member_id=w.member_id,
                priority=Priority.CHATTER,
                kind="gifts",
            )
            for w in outcome.withdrawn
        ]
        if outcome.sold_out and campaign is not None:
            text = self.render("gifts/sold_out.j2", **common)
            drafts += [
                Draft(
                    text,
                    group_id=group_id,
                    priority=Priority.CHATTER,
                    kind="gifts",
                    replace_key=SOLD_OUT_KEY.format(terms.campaign_id),
                )
                for group_id in self.sell.groups_of(campaign)
            ]
        return drafts

    @staticmethod
    def _amount(campaign: Campaign | None) -> int:
        section = campaign.gifts if campaign is not None else None
        coupon = campaign.coupon(section.coupon) if campaign and section and section.coupon else None
        return coupon.amount_cents if coupon is not None else 0

    def render(self, template: str, **variables: Any) -> str:
        return self.services.renderer.render(template, bot_name=self.services.config.bot.name, **variables)

    # -- after the commit (the event loop) ---------------------------------------------------------
    def after_commit(self, results: list[OpResult]) -> None:
        """Queue the messages of the transactions that committed; drop those of any that did not."""
        committed = {id(r) for r in results}
        with self._lock:
            pending, self._pending = self._pending, []
        for item in pending:
            if all(id(r) in committed for r in item.results):
                item.admit()
            else:
                logger.info("gifts: {} message(s) of a rolled-back batch dropped", item.count)


__all__ = ["SOLD_OUT_KEY", "Gifts", "gifts_of"]
