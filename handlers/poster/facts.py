"""What a campaign's poster shows, read from the results computations: `poster_facts(services, id)`.

No figure is derived here: the totals, the sold-out products and the best sellers are the close
post's own (`handlers.selling.results.compute_results`), each group's figures for the ranking
are that same computation over the group's orders, so they agree with the group's results post
and with `tuanbot report` (`handlers.monitoring.report`) to the fen; GMV is gross, before 满减
and coupons, as the results post quotes it. The ranking does not call `build_report` itself:
that also reads every message of every group for the activity columns, which the poster does
not show, and at close it would do so while the close holds the write lock.

Every name and text passes through the outbox's group mask (`services.outbox.group_filter`),
exactly as a group post would: a picture is not masked on its way out, so its facts are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.campaign import Campaign
from bot.context import Services
from bot.vocab import SaleStatus
from handlers.poster.model import GroupFigure, PosterFacts, ProductFigure
from handlers.selling.results import Results, compute_results
from handlers.selling.store import OrderStore, OrderView, StockLine


def poster_facts(services: Services, campaign_id: str, groups: Sequence[str] | None = None) -> PosterFacts:
    """The poster of a loaded campaign as its figures stand now: the closing figures once every
    group has closed (dated at the close), else the figures so far (dated now). With `groups`,
    only those groups' orders and ranking (a leader's board shows no other leader's groups).

    Raises LookupError when no campaign `campaign_id` is loaded.
    """
    runtime = services.campaigns
    loaded = runtime.campaigns.get(campaign_id)
    if loaded is None:
        raise LookupError(f"no campaign {campaign_id!r} is loaded")
    campaign = loaded.campaign
    every = runtime.groups_of(campaign)
    wanted = set(every if groups is None else groups)
    groups = [g for g in every if g in wanted]
    store = OrderStore(services.repo.engine)
    statuses = runtime.store.group_statuses(campaign_id)
    closed = bool(groups) and all(statuses.get(g) == SaleStatus.CLOSED for g in groups)
    now = services.clock.now()
    at = min(now, runtime.effective_times(campaign_id)[1]) if closed else now
    orders = [o for o in store.orders(campaign_id) if o.group_id in wanted]
    return facts_from(services, campaign, groups, orders, store.stock(campaign_id), at=at, closed=closed)


def facts_from(
    services: Services,
    campaign: Campaign,
    groups: Sequence[str],
    orders: list[OrderView],
    stock: list[StockLine],
    *,
    at: datetime,
    closed: bool,
) -> PosterFacts:
    """The poster of `campaign` from its active orders and stock as read by the caller (a close
    reads them in its own transaction, through the claim's connection)."""
    mask: Callable[[str], str] = services.outbox.group_filter
    total = compute_results(orders, stock)
    place = {product.code: index for index, product in enumerate(campaign.products)}
    products = sorted(total.products, key=lambda p: (place.get(p.code, len(place)), p.code))
    poster = campaign.poster
    return PosterFacts(
        campaign_id=campaign.id,
        title=mask(campaign.title),
        show=poster.show,
        gmv_cents=total.gmv_cents,
        units=total.items,
        orders=total.orders,
        buyers=total.buyers,
        sell_through=total.sell_through,
        groups=len(groups),
        sold_out=tuple(mask(p.name) for p in products if p.total and p.sold >= p.total),
        best_sellers=tuple(ProductFigure(mask(p.name), p.quantity) for p in total.top),
        top_groups=_ranking(services, campaign, groups, orders, stock, mask),
        thanks=mask(poster.thanks or ""),
        at=at,
        closed=closed,
        bot_name=services.config.bot.name,
    )


def _ranking(
    services: Services,
    campaign: Campaign,
    groups: Sequence[str],
    orders: list[OrderView],
    stock: list[StockLine],
    mask: Callable[[str], str],
) -> tuple[GroupFigure, ...]:
    """The groups that sold, best first by the poster's headline figure (a one-group campaign has
    no ranking), cut to `poster.top_groups`."""
    wanted = campaign.poster.top_groups
    if not wanted or len(groups) < 2:
        return ()
    by_group: dict[str, list[OrderView]] = defaultdict(list)
    for order in orders:
        by_group[order.group_id].append(order)
    results: list[tuple[str, Results]] = [
        (g, compute_results(by_group[g], stock)) for g in groups if by_group[g]
    ]
    by_units = campaign.poster.show == "units"
    ranked = sorted(
        results,
        key=lambda item: (-(item[1].items if by_units else item[1].gmv_cents), -item[1].buyers, item[0]),
    )
    return tuple(
        GroupFigure(mask(services.repo.group_name(group_id)), r.gmv_cents, r.items, r.buyers)
        for group_id, r in ranked[:wanted]
        if r.buyers
    )


__all__ = ["facts_from", "poster_facts"]
