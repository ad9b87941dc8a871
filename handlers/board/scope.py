"""Which groups one board viewer may see, decided on every request from ids, never from names.

A link names the groups its leader led when they sent `/board`; each request keeps only
those they still lead now (config or `/leader add`), so removing a leader closes their view
at once, before the link expires. An admin's link and an admin session see every group. The
figures are computed once per campaign for everybody (`handlers.board.live`); what leaves the
board is cut to the viewer's groups here first, so no page or API answer carries another
leader's group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.campaign import Campaign
from bot.context import Services
from handlers.board.links import Grant


@dataclass(frozen=True)
class Scope:
    """A viewer: their member id ("" for an admin session), admin rights, and their groups."""

    member_id: str
    admin_session: bool
    groups: frozenset[str] | None  # None: every group

    @property
    def everything(self) -> bool:
        return self.groups is None

    @property
    def key(self) -> str:
        """Stable text for caching what this scope sees."""
        return "*" if self.groups is None else "\n".join(sorted(self.groups))

    def allows(self, group_id: str) -> bool:
        return self.groups is None or group_id in self.groups

    def keep(self, group_ids: Iterable[str]) -> list[str]:
        """`group_ids` this viewer may see, in their order."""
        return [g for g in group_ids if self.allows(g)]


def scope_of(services: Services, grant: Grant) -> Scope | None:
    """The viewer's scope now, or None when they may see no group at all any more."""
    if grant.admin_session:
        return Scope("", True, None)
    member_id = grant.member_id
    if member_id in services.config.admins:
        return Scope(member_id, False, None if grant.groups is None else frozenset(grant.groups))
    leads = frozenset(services.roles.leader_groups(member_id))
    claimed = leads if grant.groups is None else frozenset(grant.groups)
    groups = claimed & leads
    return Scope(member_id, False, groups) if groups else None


def campaign_groups(services: Services, campaign: Campaign, scope: Scope) -> list[str]:
    """The campaign's groups this viewer may see (empty: the campaign is not theirs)."""
    return scope.keep(services.campaigns.groups_of(campaign))


def visible_campaigns(services: Services, scope: Scope) -> list[Campaign]:
    """Loaded campaigns with at least one of the viewer's groups, by opening time."""
    runtime = services.campaigns
    found = [
        loaded.campaign
        for loaded in runtime.campaigns.values()
        if campaign_groups(services, loaded.campaign, scope)
    ]
    return sorted(found, key=lambda c: (runtime.effective_times(c.id)[0], c.id))


__all__ = ["Scope", "campaign_groups", "scope_of", "visible_campaigns"]
