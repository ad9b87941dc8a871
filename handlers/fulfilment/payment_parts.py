"""What the payment half of fulfilment brings to the feature: handler modules, node hooks, setup.

At a group's close (after its claim commits): the campaign's payment-reminder job is scheduled
at close + `payment_reminder_after` (payment "before_pickup" only), and the group's 分拣单 and
提货单 are written in a worker thread and their paths sent to the group's leaders privately.
"""

from __future__ import annotations

from types import ModuleType

from sqlalchemy.engine import Connection

from bot.campaign.nodes import NodeHook, NodeRun
from bot.context import Services
from bot.feature import Lifecycle
from handlers.fulfilment import lists_chat, payment_chat
from handlers.fulfilment.lists_chat import ListDelivery
from handlers.fulfilment.payment_chat import order_extra_lines
from handlers.fulfilment.payment_jobs import schedule_reminders
from handlers.selling.extras import OrderExtras
from handlers.selling.node_hooks import campaign_orders, closed_at

MODULES: tuple[ModuleType, ...] = (payment_chat, lists_chat)


def delivery(services: Services) -> ListDelivery:
    """The app's list writer (made on first use)."""
    return services.get_or_make(ListDelivery, lambda: ListDelivery(services))


def hook_close(run: NodeRun, conn: Connection) -> None:
    """A group closes: after the commit, schedule payment reminders and deliver the group's lists
    (the campaign's orders are read once per transaction, shared with selling's close hook)."""
    services, campaign, group_id = run.services, run.campaign, run.group_id
    if not any(order.group_id == group_id for order in campaign_orders(run, conn)):
        return  # nobody ordered here: no lists to print, nobody to remind
    when = closed_at(run) + campaign.fulfilment.payment_reminder_after

    run.after_first_commit("payment reminders", lambda: schedule_reminders(services, campaign, when))
    run.after_commit(lambda: delivery(services).after_close(campaign, group_id))


NODE_HOOKS: dict[str, NodeHook] = {"close": hook_close, "reopen-close": hook_close}  # a 返场 closes too


def setup(services: Services, lifecycle: Lifecycle) -> None:
    """我的订单 shows the payment state; the list writer is waited for by `services.settle()`."""
    services.get_or_make(OrderExtras, OrderExtras).add(
        lambda campaign, member_id, private: order_extra_lines(services, campaign, member_id, private)
    )
    services.settlers.append(delivery(services).settle)
