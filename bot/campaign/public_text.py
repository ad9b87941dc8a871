"""What a campaign file publishes on purpose, handed to the outbox's group filter.

The group filter (`bot.group_filter`) masks anything that looks like an address, a phone
number or a code in group posts. A campaign's own words are public by intent: a pickup
point's address (`中山路12号`), a product code such as `AB23`, the leader's phone number in a
preheat post. The runtime calls `publish_campaign` when a campaign is loaded, reloaded or
unloaded; the filter keeps only the fragments it would otherwise have masked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from bot.campaign.models import Campaign
from bot.group_filter import GroupFilter

SOURCE_PREFIX = "campaign:"


class HasCampaign(Protocol):
    """A loaded campaign as the runtime keeps it (`bot.campaign.runtime.Loaded`)."""

    @property
    def campaign(self) -> Campaign: ...


def _strings(value: Any) -> Iterator[str]:
    """Every string in a dumped model: titles, names, addresses, posts, keywords, FAQ answers."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def public_texts(campaign: Campaign) -> list[str]:
    """The texts of `campaign` that it may post to its groups (every string of the file)."""
    return list(_strings(campaign.model_dump(mode="python")))


def publish_campaign(group_filter: GroupFilter, campaign_id: str, loaded: Mapping[str, HasCampaign]) -> None:
    """Make the published fragments of `loaded[campaign_id]` readable in group posts (gone: withdraw them).

    Cheap to call again with the same loaded campaign: the filter skips a version it has.
    """
    source = SOURCE_PREFIX + campaign_id
    entry = loaded.get(campaign_id)
    if entry is None:
        group_filter.withdraw(source)
    else:
        group_filter.publish(source, public_texts(entry.campaign), version=entry.campaign)


__all__ = ["public_texts", "publish_campaign"]
