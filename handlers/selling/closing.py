"""The close and countdown posts of a sale: what the timeline's close and countdown nodes say.

The close's transaction stops ordering in the group first (the runtime sets the
state with the ledger claim, serialised with the order writer: an order racing it
is either committed before it, and counted, or refused after it), its hook settles
coupons at the close instant (`handlers.selling.node_hooks`), and then the runner
here renders results from the committed orders, read in that same transaction.
"""

from __future__ import annotations

import math
from datetime import timedelta

from bot.campaign.nodes import NodeRun, render_node
from bot.campaign.render_memo import cached
from bot.outbox import Draft
from bot.vocab import Priority
from handlers.selling.discounts import wallet_of, wallet_on
from handlers.selling.node_hooks import campaign_orders
from handlers.selling.ops import StockLine
from handlers.selling.pricing import close_instant, extras_of
from handlers.selling.results import compute_results
from handlers.selling.service import selling
from handlers.selling.settlement import money_now


def format_left(left: timedelta) -> str:
    """Exact time left in Chinese: 10分钟, 4分30秒, 1小时5分钟, 45秒."""
    seconds = max(0, int(left.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes}分钟" if minutes else f"{hours}小时"
    if minutes:
        return f"{minutes}分{secs}秒" if secs else f"{minutes}分钟"
    return f"{secs}秒"


# ------------------------------------------------------------------------------------ node runners
def run_countdown(run: NodeRun) -> list[Draft]:
    """T-10m/T-5m/T-1m: the exact time left; nothing once the group has opened (e.g. early by /open)."""
    if selling(run.services).status(run.campaign.id, run.group_id, run.conn) != "scheduled":
        return []
    # Count from the node's own time unless it ran well late, so a busy second never says "9分59秒".
    reference = run.now if run.now - run.fire_at > timedelta(seconds=60) else run.fire_at
    left = run.opens_at - reference
    if left <= timedelta(0):
        return []
    minutes = math.ceil(left.total_seconds() / 60)
    time_left = format_left(left)
    text = render_node(
        run, "campaign/countdown.j2", memo_key=(minutes, time_left), minutes_left=minutes, time_left=time_left
    )
    return [Draft(text=text, group_id=run.group_id, priority=Priority.CAMPAIGN, kind="countdown")]


def run_close(run: NodeRun) -> list[Draft]:
    """C: results, thanks naming buyers, and the next preview (ordering already stopped and
    coupons settled in this transaction by the close's hook)."""
    sell = selling(run.services)
    campaign, group_id = run.campaign, run.group_id
    orders = campaign_orders(run, run.conn) if run.conn is not None else sell.store.orders(campaign.id)
    stock: list[StockLine] = cached(
        run.tx, ("selling:stock", campaign.id), lambda: sell.store.stock(campaign.id, run.conn)
    )
    group_results = compute_results([o for o in orders if o.group_id == group_id], stock)
    everywhere = cached(run.tx, ("selling:results", campaign.id), lambda: compute_results(orders, stock))
    at = close_instant(run.now, run.closes_at)
    params = run.node.params
    closing = render_node(run, "campaign/close.j2", results=group_results)
    if params.get("results", True) and everywhere.buyers:  # "0 人下单，成交额 ¥0" is no news (13.15)
        # Priced after this group's settlement: its buyers show what the close redeemed.
        wallet = wallet_on(run.services, run.conn) if run.conn is not None else wallet_of(run.services)
        extras = extras_of(run.services, run.conn)
        money = money_now(wallet, campaign.id, campaign.spend_tiers, orders, at, extras=extras)
        closing += "\n\n" + sell.render(
            "sales/results.j2",
            title=campaign.title,
            group=group_results,
            total=everywhere,
            groups=len(sell.groups_of(campaign)),
            money=money.of(group_id),
            total_money=money.total,
        )
    posts = [("close", closing)]
    if params.get("thanks", True) and group_results.buyers:
        posts.append(
            ("thanks", sell.render("sales/thanks.j2", names=group_results.buyer_names, title=campaign.title))
        )
    if params.get("next_preview"):
        posts.append(("preview", sell.render("sales/preview.j2", preview=params["next_preview"])))
    return [
        Draft(text=text, group_id=group_id, priority=Priority.CAMPAIGN, kind=kind) for kind, text in posts
    ]


NODE_RUNNERS = {"countdown": run_countdown, "close": run_close}

__all__ = ["NODE_RUNNERS", "format_left", "run_close", "run_countdown"]
