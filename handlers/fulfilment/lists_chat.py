"""Delivering the lists: `/lists` on demand, and to each leader of a group when it closes.

The files are written in a worker thread; the leader gets the paths privately (our transports
cannot send files). Lists are scoped to the leader's groups (admins: every group); the group
where `/lists` was typed hears only that the lists went out privately.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from loguru import logger

from bot.campaign import Campaign
from bot.context import Context, Services
from bot.events import GroupMessage, PrivateMessage
from bot.handler import command
from bot.vocab import Priority, Role
from handlers.fulfilment.lists import CampaignLists, build_lists
from handlers.fulfilment.lists_render import slug, write_lists
from handlers.selling.leader import campaign_for_command

SCOPE_ALL = "全部群"


def lists_folder(services: Services) -> Path:
    """Where the lists go: a `lists/` folder inside the config's exports_dir (beside /export's CSV)."""
    return services.config.path(services.config.exports_dir) / "lists"


def shown_path(services: Services, path: Path) -> str:
    """The path relative to the bot's folder when inside it (shorter to read in a chat), else relative
    to the exports folder's parent (a rehearsal's throw-away folder: the same text on every run)."""
    for base in (services.config.path(".").resolve(), lists_folder(services).parent.parent.resolve()):
        try:
            return str(path.resolve().relative_to(base))
        except ValueError:
            continue
    return str(path)


def make_lists(
    services: Services, campaign: Campaign, group_ids: list[str] | None, out: Path | None = None
) -> tuple[CampaignLists, list[Path]]:
    """Build and write both lists (no files when nobody ordered). Reads and writes: a worker thread."""
    repo = services.repo
    if group_ids is None:
        scope, scope_slug = SCOPE_ALL, "all"
    else:
        scope = "、".join(repo.group_name(g) for g in group_ids)
        scope_slug = slug(group_ids[0]) if len(group_ids) == 1 else "groups"
    lists = build_lists(services, campaign, group_ids, scope)
    if not lists.points:
        return lists, []
    folder = out if out is not None else lists_folder(services)
    return lists, write_lists(lists, folder, scope_slug, campaign.tz, services.renderer)


def tell(services: Services, member_id: str, lists: CampaignLists, paths: list[Path]) -> None:
    """The leader's private note: where the files are, with the totals."""
    template = "lists/ready.j2" if paths else "lists/none.j2"
    text = services.renderer.render(
        template,
        title=lists.title,
        scope=lists.scope,
        buyers=lists.buyers,
        units=lists.units,
        net_cents=lists.net_cents,
        owed_cents=lists.owed_cents,
        paths=[shown_path(services, p) for p in paths],
    )
    services.outbox.enqueue(text, member_id=member_id, priority=Priority.COMMAND, kind="lists")


class ListDelivery:
    """Writes the lists of closing groups off the loop; `settle` waits for the ones under way."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.tasks: set[asyncio.Task[None]] = set()
        self._last: asyncio.Task[None] | None = None  # leaders are told in the order groups closed

    def after_close(self, campaign: Campaign, group_id: str) -> None:
        """A group closed (committed): make its lists and tell its leaders, in the background."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): do it now
            self._deliver_now(campaign, group_id)
            return
        task = loop.create_task(self.deliver(campaign, group_id, self._last))
        self._last = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _deliver_now(self, campaign: Campaign, group_id: str) -> None:
        lists, paths = make_lists(self.services, campaign, [group_id])
        self._send(campaign, group_id, lists, paths)

    async def deliver(
        self, campaign: Campaign, group_id: str, before: asyncio.Task[None] | None = None
    ) -> None:
        """Write in a worker thread; tell the leaders only after the previous closing group's were
        told, so the same close always gives the same messages in the same order."""
        try:
            lists, paths = await asyncio.to_thread(make_lists, self.services, campaign, [group_id])
        except Exception:
            logger.opt(exception=True).error("lists of {} in {} could not be written", campaign.id, group_id)
            return
        finally:
            if before is not None:
                await asyncio.gather(before, return_exceptions=True)
        self._send(campaign, group_id, lists, paths)

    def _send(self, campaign: Campaign, group_id: str, lists: CampaignLists, paths: list[Path]) -> None:
        if not paths:
            return  # nobody ordered in this group: nothing to tell
        leaders = sorted(self.services.roles.leaders_of(group_id))
        if not leaders:
            logger.bind(group=group_id).info("lists of {} written, but the group has no leader", campaign.id)
        for leader in leaders:
            tell(self.services, leader, lists, paths)

    async def settle(self) -> None:
        """Wait for the lists being written (tests, shutdown)."""
        # Only the unfinished: a finished task leaves `tasks` a loop turn later (its callback), and
        # Python 3.12's gather of finished tasks returns without a turn: this spun forever.
        while running := [task for task in self.tasks if not task.done()]:
            await asyncio.gather(*running, return_exceptions=True)


def _scope(ctx: Context, campaign: Campaign) -> list[str] | None:
    """Groups the lists cover: None (all) for an admin, else the leader's groups of the campaign."""
    if ctx.sender_id in ctx.config.admins:
        return None
    registry = ctx.services.campaigns
    groups = registry.groups_of(campaign) if campaign.id in registry.campaigns else list(campaign.groups)
    mine = set(ctx.services.roles.leader_groups(ctx.sender_id))
    return [g for g in groups if g in mine]


def _private_campaign(ctx: Context) -> Campaign | None:
    """`/lists ID` privately; without an id, the only campaign of the leader's groups."""
    registry = ctx.services.campaigns
    if ctx.args:
        loaded = registry.campaigns.get(ctx.args[0])
        if loaded is None:
            ctx.reply(
                "lists/unknown.j2",
                campaign_id=ctx.args[0],
                known=sorted(registry.campaigns),
                priority=Priority.COMMAND,
            )
            return None
        return loaded.campaign
    mine = set(ctx.services.roles.leader_groups(ctx.sender_id))
    admin = ctx.sender_id in ctx.config.admins
    found = [
        loaded.campaign
        for loaded in registry.campaigns.values()
        if admin or mine & set(registry.groups_of(loaded.campaign))
    ]
    if len(found) != 1:
        ctx.reply(
            "lists/unknown.j2", campaign_id="", known=sorted(c.id for c in found), priority=Priority.COMMAND
        )
        return None
    return found[0]


@command("lists", "分拣单", "提货单", role=Role.LEADER, private=True)
async def handle_lists(msg: GroupMessage | PrivateMessage, ctx: Context) -> None:
    """/lists [活动ID] — 生成分拣单和提货单（CSV 和可打印的 HTML），路径私信团长（团长）"""
    if isinstance(msg, GroupMessage):
        found = campaign_for_command(ctx, msg)
        if found is None:
            return
        campaign = found[0]
    else:
        picked = _private_campaign(ctx)
        if picked is None:
            return
        campaign = picked
    groups = _scope(ctx, campaign)
    if groups is not None and not groups:
        ctx.reply("lists/not_yours.j2", campaign_id=campaign.id, priority=Priority.COMMAND)
        return
    await ctx.services.settle()  # orders sent just before are committed first
    lists, paths = await asyncio.to_thread(make_lists, ctx.services, campaign, groups)
    tell(ctx.services, ctx.sender_id, lists, paths)
    if isinstance(msg, GroupMessage):
        ctx.reply("lists/sent.j2", made=bool(paths), priority=Priority.COMMAND)


__all__ = ["ListDelivery", "handle_lists", "make_lists", "shown_path", "tell"]
