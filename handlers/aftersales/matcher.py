"""The after-sales matchers: complaint or not, rating or not, decided on the loop from memory.

They are the FAQ's seam (`bot.router`: `match(event, view) -> intent | None`): run for every
message, they read only the text, the group's campaigns from the view (memoised by the
campaign runtime), the role book (memory) and `AftersalesState`, and never the database.
Whether the sender bought anything is the body's question, asked off the loop; a complaint
word from someone without orders then falls through to the FAQ.

`AftersalesState.awaiting`: members with a resolved, unrated ticket (member -> when the
latest was resolved), read once in the feature's setup and kept current by resolutions and
ratings in this process, so "3" in a private chat is a rating only for those members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.campaign import Campaign
from bot.context import Services
from bot.events import GroupMessage, PrivateMessage
from bot.text import normalize
from bot.view import MessageView
from bot.vocab import Role
from handlers.aftersales.keywords import MAX_COMPLAINT_CHARS, complaint_keyword, keywords_of

RATING_WINDOW = timedelta(days=7)
"""A bare digit counts as a rating this long after the resolution; later it is just a digit."""

RATINGS = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
KEYWORD_SETS_REMEMBERED = 256


@dataclass(frozen=True, slots=True)
class Complaint:
    """A complaint to check against the sender's orders: in `campaign_ids` (the group's; all loaded
    ones when said privately), and in `group_id` ("" privately: any group)."""

    text: str
    keyword: str
    campaign_ids: tuple[str, ...]
    group_id: str


@dataclass(frozen=True, slots=True)
class Rating:
    """A 1–5 rating from a member who has a resolved, unrated ticket."""

    score: int


@dataclass
class AftersalesState:
    """Per-app after-sales memory (see the module docstring)."""

    awaiting: dict[str, datetime] = field(default_factory=dict)
    loaded: bool = False
    _keywords: dict[tuple[int, ...], tuple[tuple[Campaign, ...], tuple[str, ...]]] = field(
        default_factory=dict, repr=False
    )

    def keywords(self, campaigns: tuple[Campaign, ...]) -> tuple[str, ...]:
        """The defaults plus these campaigns' ticket keywords (kept per set of campaign objects)."""
        key = tuple(id(c) for c in campaigns)
        found = self._keywords.get(key)
        if found is not None:
            return found[1]
        if len(self._keywords) >= KEYWORD_SETS_REMEMBERED:
            self._keywords.clear()
        words = keywords_of(w for c in campaigns for w in c.fulfilment.ticket_keywords)
        self._keywords[key] = (campaigns, words)  # holding the campaigns keeps their ids unique
        return words

    def awaits_rating(self, member_id: str, now: datetime) -> bool:
        resolved = self.awaiting.get(member_id)
        return resolved is not None and now - resolved <= RATING_WINDOW


def state_of(services: Services) -> AftersalesState:
    return services.get_or_make(AftersalesState, AftersalesState)


def match_complaint(msg: GroupMessage, view: Any) -> Complaint | None:
    """A complaint said in a group with a campaign, by someone other than its leaders; else None."""
    if len(msg.text) > MAX_COMPLAINT_CHARS or not isinstance(view, MessageView):
        return None
    campaigns = view.campaigns
    if not campaigns:
        return None
    state = state_of(view.services)
    keyword = complaint_keyword(
        msg.text, state.keywords(tuple(a.campaign for a in campaigns)), view.normalized
    )
    if keyword is None:  # most chatter stops here, before the role lookup
        return None
    if view.services.roles.role_of(msg.sender.id, msg.group_id) >= Role.LEADER:
        return None  # "有坏果的私信我" from the leader is no complaint
    return Complaint(msg.text, keyword, tuple(a.campaign.id for a in campaigns), msg.group_id)


def match_private_complaint(msg: PrivateMessage, view: Any) -> Complaint | None:
    """A complaint said to the bot privately, about any loaded campaign; else None."""
    if len(msg.text) > MAX_COMPLAINT_CHARS or not isinstance(view, MessageView):
        return None
    loaded = view.services.campaigns.campaigns
    if not loaded:
        return None
    campaigns = tuple(item.campaign for item in loaded.values())
    keyword = complaint_keyword(msg.text, state_of(view.services).keywords(campaigns), view.normalized)
    if keyword is None:
        return None
    return Complaint(msg.text, keyword, tuple(c.id for c in campaigns), "")


def match_rating(msg: PrivateMessage, view: Any) -> Rating | None:
    """A bare 1–5 (or 3分, 五星) from a member awaiting a rating; None for everything else."""
    if len(msg.text) > 8 or not isinstance(view, MessageView):
        return None
    text = normalize(msg.text).removesuffix("分").removesuffix("星")
    score = RATINGS.get(text)
    if score is None:
        return None
    if not state_of(view.services).awaits_rating(msg.sender.id, view.services.clock.now()):
        return None
    return Rating(score)
