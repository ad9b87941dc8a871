"""What each campaign timeline node posts to a group.

Runners are plain functions from a `NodeRun` to the messages it posts. They
only render: the scheduling layer writes the posts, the ledger row and any
state change in one transaction. Selling and engagement features replace or
override entries of `DEFAULT_RUNNERS` with a module-level `NODE_RUNNERS` dict in
their feature module, and add `NODE_HOOKS` run in the node's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy.engine import Connection

from bot.campaign import Campaign, TimelineNode
from bot.context import Services
from bot.outbox import Draft
from bot.templates import TemplateRenderError
from bot.vocab import Priority


@dataclass(frozen=True)
class NodeRun:
    """One node about to run in one group."""

    campaign: Campaign
    node: TimelineNode
    group_id: str
    services: Services
    now: datetime
    fire_at: datetime
    opens_at: datetime
    closes_at: datetime


NodeRunner = Callable[[NodeRun], list[Draft]]
# Work done inside the node's own transaction, after its ledger row is claimed.
NodeHook = Callable[[NodeRun, Connection], None]

# State a node moves the campaign to in each group, applied with its posts.
STATE_CHANGES: dict[str, str] = {"open": "open", "close": "closed"}


def campaign_variables(run: NodeRun) -> dict[str, Any]:
    """Variables every campaign template may use."""
    campaign = run.campaign
    return {
        "bot_name": run.services.config.bot.name,
        "campaign": campaign,
        "title": campaign.title,
        "products": campaign.products,
        "opens_at": run.opens_at,
        "closes_at": run.closes_at,
        "group_name": run.services.repo.group_name(run.group_id),
        "node": run.node,
        "params": run.node.params,
        "now": run.now,
    }


def render_node(run: NodeRun, default_template: str, **extra: Any) -> str:
    """The node's own text or template if the campaign file gives one, else the default template.

    Campaign text is admin-written and rendered in the same sandbox as templates,
    so `{{ title }}` works in it; it never contains member text.
    """
    variables = campaign_variables(run) | extra
    renderer = run.services.renderer
    params = run.node.params
    if params.get("template"):
        return renderer.render(str(params["template"]), **variables)
    if params.get("text"):
        try:
            return renderer.render_string(str(params["text"]), **variables)
        except TemplateRenderError as exc:
            logger.warning(
                "campaign {} node {}: text is not a valid template, posting it literally: {}",
                run.campaign.id,
                run.node.node_id,
                exc,
            )
            return str(params["text"])
    return renderer.render(default_template, **variables)


def _post(run: NodeRun, text: str, priority: int = Priority.CAMPAIGN, replace_key: str = "") -> list[Draft]:
    return [
        Draft(
            text=text, group_id=run.group_id, priority=priority, kind=run.node.kind, replace_key=replace_key
        )
    ]


def run_preheat(run: NodeRun) -> list[Draft]:
    featured = [p for p in run.campaign.products if p.code in run.node.params.get("products", [])]  # type: ignore[operator]
    return _post(run, render_node(run, "campaign/preheat.j2", featured=featured or run.campaign.products))


def run_redpacket(run: NodeRun) -> list[Draft]:
    return _post(run, render_node(run, "campaign/redpacket.j2"))


def run_followup(run: NodeRun) -> list[Draft]:
    return _post(run, render_node(run, "campaign/followup.j2"), priority=Priority.DEFAULT)


# The posts of the other kinds (countdown, open, broadcast, close) carry live stock and
# results, so the selling feature owns them (`NODE_RUNNERS` in handlers/selling/stock.py and
# handlers/selling/leader.py); the registry refuses to start if a kind has no runner.
DEFAULT_RUNNERS: dict[str, NodeRunner] = {
    "preheat": run_preheat,
    "redpacket": run_redpacket,
    "followup": run_followup,
}
