"""Which pickup points (自提点) a group, a clerk or a leader has: names from the loaded campaign files.

A point is known by its name in the campaign files; a leader types part of it (`东门`) and
`match_point` finds the one it names, or says it is unknown or ambiguous.
"""

from __future__ import annotations

import unicodedata

from bot.campaign import Campaign
from bot.campaign.models import PickupPoint
from bot.context import Services


def loaded_campaigns(services: Services) -> list[Campaign]:
    return [loaded.campaign for loaded in services.campaigns.campaigns.values()]


def group_campaigns(services: Services, group_id: str) -> list[Campaign]:
    """The loaded campaigns that run in a group (whatever their state)."""
    return [a.campaign for a in services.campaigns.in_group(group_id)]


def points_in(campaigns: list[Campaign]) -> list[PickupPoint]:
    """The pickup points of these campaigns, one per name, in file order."""
    seen: dict[str, PickupPoint] = {}
    for campaign in campaigns:
        for point in campaign.pickup_points:
            seen.setdefault(point.name, point)
    return list(seen.values())


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().upper()


def match_point(points: list[PickupPoint], wanted: str) -> tuple[PickupPoint | None, list[PickupPoint]]:
    """(the one point `wanted` names, []) or (None, the points it could mean: none, or several).

    An exact name wins over names that merely contain it (`东门` and `东门二店`).
    """
    key = _norm(wanted)
    if not key:
        return None, []
    exact = [p for p in points if _norm(p.name) == key]
    if len(exact) == 1:
        return exact[0], []
    found = [p for p in points if key in _norm(p.name)]
    return (found[0], []) if len(found) == 1 else (None, found)


def leader_points(services: Services, member_id: str) -> set[str]:
    """Point names of the campaigns running in the groups a member leads (every point for an admin)."""
    if member_id in services.config.admins:
        return {p.name for p in points_in(loaded_campaigns(services))}
    campaigns = [c for g in services.roles.leader_groups(member_id) for c in group_campaigns(services, g)]
    return {p.name for p in points_in(campaigns)}


__all__ = ["group_campaigns", "leader_points", "loaded_campaigns", "match_point", "points_in"]
