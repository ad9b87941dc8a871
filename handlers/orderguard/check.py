"""One check of a campaign: read (off the loop), find, record what is new, tell the admins.

Called by the periodic job while the campaign is open and by the close job
(`handlers.orderguard.jobs`). The reading, the patterns and the inserts run in one worker
thread; only telling the admins (the outbox) is on the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger

from bot.background import in_background
from bot.campaign import Campaign
from bot.config import OrderGuardSettings
from bot.context import Services
from handlers.orderguard.patterns import Finding, cancels_after_broadcast, lookalike, new_silent
from handlers.orderguard.reading import Facts, read_facts
from handlers.orderguard.report import tell_admins
from handlers.orderguard.store import record

BROADCAST = "broadcast"


@dataclass(frozen=True)
class CheckResult:
    """What one check found and how much of it was news."""

    found: int
    new: list[Finding]


def detect(facts: Facts, settings: OrderGuardSettings) -> list[Finding]:
    """All three patterns over one campaign's facts (pure)."""
    return [
        *new_silent(
            facts.orders,
            facts.joined,
            facts.spoke,
            minutes=settings.new_member_minutes,
            threshold=settings.new_silent_orders,
        ),
        *lookalike(facts.orders, facts.remarks, facts.names, address_members=settings.shared_address_members),
        *cancels_after_broadcast(
            facts.orders,
            facts.broadcasts,
            minutes=settings.cancel_after_broadcast_minutes,
            threshold=settings.cancel_after_broadcast_orders,
        ),
    ]


def broadcast_nodes(services: Services, campaign_id: str) -> set[str]:
    """Ids of the campaign's sales-broadcast nodes (as loaded and as delayed): the ledger knows
    ids only, the campaign knows kinds."""
    registry = services.campaigns
    loaded = registry.campaigns.get(campaign_id)
    if loaded is None:
        return set()
    nodes = [*loaded.nodes, *registry.effective_nodes(campaign_id)]
    return {node.node_id for node in nodes if node.kind == BROADCAST}


def scan(services: Services, campaign: Campaign, nodes: set[str]) -> CheckResult:
    """The worker thread's part: flush the inbound log, read, detect, record.

    Reading and recording are two transactions: a read that turned into a write would, on
    SQLite, fail whenever an order committed in between (and orders commit all through a
    sale); the inserts are idempotent, so nothing needs them in the read's snapshot.
    """
    services.flush_inbound()  # who joined and who spoke is written behind the loop
    settings = services.config.order_guard
    engine = services.repo.engine
    with engine.connect() as conn:
        facts = read_facts(conn, campaign.id, nodes, new_member_minutes=settings.new_member_minutes)
    found = detect(facts, settings)
    if not found:
        return CheckResult(0, [])
    with engine.begin() as conn:
        new = record(conn, campaign.id, found, services.clock.now())
    return CheckResult(len(found), new)


async def run_check(services: Services, campaign_id: str, *, final: bool = False) -> CheckResult:
    """Check one campaign now; new findings go privately to every admin, in one message each."""
    settings = services.config.order_guard
    loaded = services.campaigns.campaigns.get(campaign_id)
    if not settings.enabled or loaded is None:
        return CheckResult(0, [])
    campaign = loaded.campaign
    await services.settle()  # orders handed to the writer just before are committed first
    result = await in_background(scan, services, campaign, broadcast_nodes(services, campaign_id))
    logger.bind(campaign=campaign_id).info(
        "order guard check{}: {} finding(s), {} new",
        " at close" if final else "",
        result.found,
        len(result.new),
    )
    tell_admins(services, campaign, result.new, final=final)
    return result


__all__ = ["CheckResult", "broadcast_nodes", "detect", "run_check", "scan"]
