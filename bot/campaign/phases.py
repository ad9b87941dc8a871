"""One node's phases in one group, inside the transaction of a chunk of groups.

In order, in a savepoint of the chunk's transaction: the ledger claim (a duplicate run
stops here, having done nothing), the state change, the feature hooks (its effects,
through the claim's connection), then the runner, which renders the posts and may read
through the same connection. Anything raising rolls the savepoint back, claim included,
so the node can run there again. (A chunk first runs without savepoints, a SAVEPOINT and a
RELEASE per group being a fifth of the loop's time in a burst of openings; a chunk in which a
group raised is rolled back whole and redone with them, so the outcome is the same.) The
in-memory work the hooks and runner registered (`NodeRun.after_commit`) is run by
`run_after_commit` once the transaction is committed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from loguru import logger
from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection
from sqlmodel import col

from bot.campaign.nodes import NodeHook, NodeRun, NodeRunner
from bot.outbox import Draft
from bot.storage.tables import TimelineLedger
from bot.storage.timeline_store import TimelineStore

_DONE = (
    update(TimelineLedger)
    .where(
        col(TimelineLedger.campaign_id) == bindparam("c"),
        col(TimelineLedger.node_id) == bindparam("n"),
        col(TimelineLedger.group_id) == bindparam("g"),
    )
    .values(status="done")
)


class GroupFailed(Exception):
    """A group of a chunk run without savepoints raised: the chunk is rolled back and redone."""


def run_phases(
    conn: Connection,
    run: NodeRun,
    *,
    runner: NodeRunner,
    hooks: list[NodeHook],
    state: str | None,
    detail: str,
    savepoint: bool = True,
) -> list[Draft] | None:
    """Claim, change state, run hooks, render; None when the node already ran in the group.

    The claim is written as "posted" and turned into "done" once the runner says it has
    nothing to post, in the same savepoint (what a runner says depends on what the hooks did).
    `savepoint=False`: the caller's transaction alone (a chunk that is redone with savepoints
    if any of its groups fails, `NodeRunning._run_groups`).
    """
    campaign_id, node = run.campaign.id, run.node
    with conn.begin_nested() if savepoint else contextlib.nullcontext():
        if not TimelineStore.claim(
            conn,
            campaign_id=campaign_id,
            node_id=node.node_id,
            group_id=run.group_id,
            status="posted",
            scheduled_at=node.fire_at,
            now=run.now,
            detail=detail,
        ):
            return None
        if state:
            TimelineStore.set_group_status(conn, campaign_id, run.group_id, state, run.now)
        for hook in hooks:
            hook(run, conn)
        drafts = runner(run)
        if not drafts:
            conn.execute(_DONE, {"c": campaign_id, "n": node.node_id, "g": run.group_id})
        return drafts


def run_after_commit(callbacks: list[Callable[[], None]], run: NodeRun) -> None:
    """A committed group's in-memory follow-ups; one failing is logged, never undoes the commit."""
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.bind(campaign=run.campaign.id, node=run.node.node_id, group=run.group_id).opt(
                exception=True
            ).error("after-commit work of a node failed (its posts and ledger row are committed)")
