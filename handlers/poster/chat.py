"""`/poster`: a leader (for their own group) or an admin (in any group) has the poster sent now.

Who may is the router's question, answered by member id from the role book (`Role.LEADER`
in a group means a leader of that group, or an admin): a member who renames themselves after
the leader gets the refusal, not a poster. The figures are read and the picture drawn in a
worker thread (a few hundred milliseconds), off the event loop. While one `/poster` picture
still waits in the outbox for the group, another request queues no second one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.context import Context, Services
from bot.events import GroupMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.poster.facts import poster_facts
from handlers.poster.files import save_poster
from handlers.poster.render import render_poster
from handlers.selling.leader import campaign_for_command


class PosterRequests:
    """The outbox id of the last `/poster` picture queued to each group (this process)."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}


def draw_poster(services: Services, campaign_id: str) -> Path | None:
    """Draw the campaign's poster as its figures stand and write it; None while nobody has bought."""
    facts = poster_facts(services, campaign_id)
    if not facts.buyers:
        return None
    return save_poster(services.config, campaign_id, render_poster(facts, renderer=services.renderer).png)


@command("poster", "海报", role=Role.LEADER)
async def handle_poster(msg: GroupMessage, ctx: Context) -> None:
    """/poster [活动ID] — 把团购战绩海报（图片）发到本群（团长）"""
    found = campaign_for_command(ctx, msg)
    if found is None:
        return
    campaign, _status, rest = found
    if rest:
        ctx.usage()
        return
    services = ctx.services
    requests = services.get_or_make(PosterRequests, PosterRequests)
    waiting = requests.last.get(msg.group_id)
    if waiting is not None and services.outbox.queued_among([waiting]):
        return  # the one asked for a moment ago has not left yet: not a second picture
    await services.settle()  # orders sent just before are committed and counted
    path = await asyncio.to_thread(draw_poster, services, campaign.id)
    if path is None:
        ctx.reply("poster/no_sales.j2", title=campaign.title, priority=Priority.COMMAND)
        return
    requests.last[msg.group_id] = ctx.send_image(msg.group_id, path, priority=Priority.COMMAND)


__all__ = ["PosterRequests", "draw_poster", "handle_poster"]
