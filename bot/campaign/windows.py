"""Each campaign's effective window and node times, memoised between the events that change them.

Features ask on every chat message which campaigns are live in the group (`active_campaigns`).
Recomputing that per message rebuilt node lists and, once a leader had delayed a campaign,
read its whole ledger. Here it is computed once per campaign and once per group, and thrown
away only when it can change: a campaign loaded or unloaded, delayed, paused or resumed, a
node run (an opening or closing changes group states). Every cache is bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.campaign.active import ActiveCampaign
from bot.campaign.timeline import TimelineNode

# Groups whose campaign list is kept; the least recently asked one is dropped past this.
MAX_GROUP_VIEWS = 20_000


@dataclass(frozen=True)
class Window:
    """A campaign's effective timeline (a leader's delay applied), the same in all its groups."""

    nodes: list[TimelineNode]
    active: ActiveCampaign


class Windows:
    """Memo of `Window`s per campaign and of the campaigns that run in each group."""

    def __init__(
        self,
        compute: Callable[[str], Window],
        campaigns_of_group: Callable[[str], list[str]],
        max_groups: int = MAX_GROUP_VIEWS,
    ) -> None:
        self._compute = compute
        self._campaigns_of_group = campaigns_of_group
        self._max_groups = max_groups
        self._windows: dict[str, Window] = {}  # one per loaded campaign at most
        self._groups: OrderedDict[str, tuple[ActiveCampaign, ...]] = OrderedDict()
        self.recomputed = 0  # how many windows were computed (tests check it is not per message)

    def window(self, campaign_id: str) -> Window:
        found = self._windows.get(campaign_id)
        if found is None:
            found = self._windows[campaign_id] = self._compute(campaign_id)
            self.recomputed += 1
        return found

    def in_group(self, group_id: str) -> tuple[ActiveCampaign, ...]:
        """The loaded campaigns that run in `group_id`, by campaign id."""
        found = self._groups.get(group_id)
        if found is not None:
            self._groups.move_to_end(group_id)
            return found
        found = tuple(self.window(cid).active for cid in self._campaigns_of_group(group_id))
        self._groups[group_id] = found
        if len(self._groups) > self._max_groups:
            self._groups.popitem(last=False)
        return found

    def invalidate(self, campaign_id: str | None = None) -> None:
        """Forget one campaign's window (or all), and every group's list that may hold it."""
        if campaign_id is None:
            self._windows.clear()
        else:
            self._windows.pop(campaign_id, None)
        self._groups.clear()
