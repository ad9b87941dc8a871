"""What each campaign timeline node posts to a group.

A node kind has explicit phases, all in one transaction per chunk of groups
(`bot.campaign.node_runs`): the ledger claim and the state change (the runtime's),
then the feature's hooks (`NODE_HOOKS`: its effects, e.g. seeding stock or settling
coupons, through the claim's connection), then the runner (`NODE_RUNNERS`), which
only renders the posts, reading through `run.conn`. A duplicate run loses the claim
and reaches neither hooks nor runner, so it repeats no effect. Effects on this
process's memory (a hint, a board) are registered with `run.after_commit` and run
only once the transaction is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loguru import logger
from sqlalchemy.engine import Connection

from bot.campaign import Campaign, TimelineNode
from bot.campaign.render_memo import cached, uses_group
from bot.outbox import Draft
from bot.templates import TemplateRenderError
from bot.vocab import Priority

if TYPE_CHECKING:
    from bot.context import Services


@dataclass(frozen=True)
class NodeRun:
    """One node running in one group, inside the transaction that claimed it.

    `conn` is that transaction (None only outside a node run): hooks write through it and
    runners read through it, so they see the claim's own writes. `memo` is shared by every
    group of one node run (a text that does not depend on the group, the stock read once),
    `tx` by the groups of one transaction attempt (what committed orders say cannot change
    while it holds the write lock). `after` holds work on this process's memory that must
    happen only once the claim is committed (`after_commit`).
    """

    campaign: Campaign
    node: TimelineNode
    group_id: str
    services: Services
    now: datetime
    fire_at: datetime
    opens_at: datetime
    closes_at: datetime
    conn: Connection | None = None
    memo: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)
    tx: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)
    after: list[Callable[[], None]] = field(default_factory=list, compare=False, repr=False)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this group's claim is committed; never if it is rolled back or lost."""
        self.after.append(callback)

    def after_first_commit(self, key: Hashable, callback: Callable[[], object]) -> None:
        """`after_commit`, but once per node run, not per group: campaign-wide work (a job to
        start) after the first group's claim commits. A hundred groups scheduling the same job
        cost the timeline burst most of its loop time (docs/performance.md)."""
        done: set[Hashable] = self.memo.setdefault(("after_first_commit",), set())

        def once() -> None:
            if key not in done:
                done.add(key)
                callback()

        self.after.append(once)


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


def render_node(run: NodeRun, default_template: str, memo_key: Hashable = None, **extra: Any) -> str:
    """The node's own text or template if the campaign file gives one, else the default template.

    Campaign text is admin-written and rendered in the same sandbox as templates,
    so `{{ title }}` works in it; it never contains member text. When the text cannot depend
    on the group (it never names `group_name`), it is rendered once per node run: `extra`
    must then be the same for every group, or the runner passes a `memo_key` that says what
    it depends on (e.g. the stock read once per node run).
    """
    renderer = run.services.renderer
    params = run.node.params
    name = str(params.get("template") or ("" if params.get("text") else default_template))
    source = "" if name else str(params["text"])
    if (memo_key is not None or not extra) and not uses_group(renderer, name=name, source=source):
        key = ("render_node", run.node.node_id, name, source, run.now, memo_key)
        text: str = cached(run.memo, key, lambda: _render_node(run, default_template, extra))
        return text
    return _render_node(run, default_template, extra)


def _render_node(run: NodeRun, default_template: str, extra: dict[str, Any]) -> str:
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
    featured = featured or run.campaign.products  # the same in every group: rendered once per node run
    return _post(run, render_node(run, "campaign/preheat.j2", memo_key="featured", featured=featured))


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
