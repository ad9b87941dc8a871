"""Warnings about campaign files that are each valid: a group id config.yaml does not know, and
two campaigns selling in the same group at the same time.

Neither is an error: a group may be served before config.yaml lists it, and two campaigns may
share a group on purpose. But both are usually slips (a typo in `groups:`; a copy of the sample
left running beside the sample), and the bot cannot tell the operator in chat what went wrong:
a member's `A1 2` or coupon keyword reaches only one of two campaigns live in a group, and the
welcome and the red-packet rains come twice. Found walking the README as a new operator.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from bot.campaign.models import Campaign

Groups = Mapping[str, Collection[str]]  # config.yaml's groups: id -> tags


def groups_in(campaign: Campaign, groups: Groups) -> list[str]:
    """The campaign's group ids: listed ones, then configured groups carrying one of its tags."""
    found = list(dict.fromkeys(campaign.groups))
    tags = set(campaign.group_tags)
    if tags:
        listed = set(found)
        found += [g for g, group_tags in groups.items() if g not in listed and tags.intersection(group_tags)]
    return found


def unknown_groups(path: Path, campaign: Campaign, groups: Groups) -> list[str]:
    """A warning for each listed group config.yaml does not name."""
    out = []
    for index, group_id in enumerate(campaign.groups):
        if group_id in groups:
            continue
        close = difflib.get_close_matches(group_id, sorted(groups), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        out.append(
            f"{path}: warning: groups[{index}]: '{group_id}' is not a group in config.yaml; {hint}"
            "the bot posts there only if it is in a group with exactly that id"
        )
    return out


def _window(campaign: Campaign) -> str:
    zone = campaign.tz
    return (
        f"{campaign.opens_at.astimezone(zone):%m-%d %H:%M}–{campaign.closes_at.astimezone(zone):%m-%d %H:%M}"
    )


def overlaps(found: Iterable[tuple[Path, Campaign]], groups: Groups) -> list[str]:
    """A warning for each later file whose sale shares a group and a time with an earlier one's."""
    seen: list[tuple[Path, Campaign, set[str]]] = []
    out = []
    for path, campaign in found:
        mine = set(groups_in(campaign, groups))
        for other_path, other, theirs in seen:
            shared = sorted(mine & theirs)
            if shared and campaign.opens_at < other.closes_at and other.opens_at < campaign.closes_at:
                mine_when, theirs_when = _window(campaign), _window(other)
                when = mine_when if mine_when == theirs_when else f"{mine_when} (it: {theirs_when})"
                out.append(
                    f"{path}: warning: sells in {', '.join(shared)} while '{other.id}' ({other_path}) does, "
                    f"{when}: members' orders and keywords reach only one of them, and both post "
                    "welcomes and red-packet rains; give them different groups or times, or move one "
                    "file out of the campaigns folder"
                )
        seen.append((path, campaign, mine))
    return out


__all__ = ["Groups", "groups_in", "overlaps", "unknown_groups"]
