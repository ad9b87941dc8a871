"""The order guard's node hooks: start the periodic check at open, add the close check at close.

They only schedule, after the node's commit (`NodeRun.after_commit`): a hook runs inside the
node's claim transaction, and reading a campaign's orders there would hold the write lock
the close (and every order) waits on. A duplicate node run loses the claim and reaches no
hook, and the jobs' fixed ids make a second scheduling replace the first. The jobs are the
campaign's, so each is scheduled once per node run (after its first group commits), not once per
group: a hundred `add_job` writes on the loop were most of an opening burst's stall.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from bot.campaign.nodes import NodeHook, NodeRun
from handlers.orderguard.jobs import schedule_check, schedule_close_check


def hook_open(run: NodeRun, conn: Connection) -> None:
    """A group opened: the periodic check starts `check_minutes` from now."""
    services, campaign_id, now = run.services, run.campaign.id, run.now
    run.after_first_commit("orderguard", lambda: schedule_check(services, campaign_id, now))


def hook_close(run: NodeRun, conn: Connection) -> None:
    """A group closed: check the campaign once more, now, outside the close's transaction."""
    services, campaign_id, now = run.services, run.campaign.id, run.now
    run.after_first_commit("orderguard", lambda: schedule_close_check(services, campaign_id, now))


NODE_HOOKS: dict[str, NodeHook] = {"open": hook_open, "close": hook_close}

__all__ = ["NODE_HOOKS", "hook_close", "hook_open"]
