"""The campaign runtime's job body: one timeline node, fanned out to the campaign's groups.

Module-level with plain arguments, because APScheduler's persistent job store imports it by
reference (`bot.campaign.jobs:job_timeline_node`) when the bot restarts.
"""

from __future__ import annotations

from bot.campaign.runtime import CampaignRuntime
from schedules import runtime


async def job_timeline_node(campaign_id: str, node_id: str) -> None:
    """Run one campaign timeline node in every group of the campaign."""
    campaigns: CampaignRuntime = runtime.current(CampaignRuntime)
    await campaigns.run_node(campaign_id, node_id)
