"""Which live coupon a group message is the keyword of, decided from memory (the matcher).

The coupon handler's matcher runs on the event loop for every group message, chatter
included, so it must cost next to nothing and never read the database. Each campaign's
keywords are normalised once per campaign load (`CouponKeywords.of`, keyed by the loaded
`Campaign` object, so a reload is a new entry) into the exact-match set and the
`contains` list `bot.text.keyword_matches` would test; a message is then one set lookup
(and a substring test per `contains` keyword). Only a hit reads the clock and the
campaign windows, in the order the handler always used: live campaigns earliest closing
first, coupons in file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.campaign.active import ActiveCampaign
from bot.campaign.models import Campaign, Coupon
from bot.context import Services
from bot.events import GroupMessage
from bot.text import core
from bot.view import MessageView

MAX_KEYWORD_MESSAGE = 200
"""A longer message is never a coupon claim (a pasted order list that happens to hold a keyword)."""
CAMPAIGNS_REMEMBERED = 1_000


@dataclass(frozen=True)
class CampaignKeywords:
    """One campaign's coupon keywords, normalised: what `keyword_matches` compares, computed once."""

    exact: frozenset[str]  # core(keyword) of each `exact` coupon
    contains: tuple[str, ...]  # core(keyword) of each `contains` coupon
    coupons: tuple[tuple[Coupon, str, str], ...]  # (coupon, core(keyword), mode) in file order

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignKeywords:
        coupons = tuple(
            (c, wanted, c.match)
            for c in campaign.coupons
            if c.keyword and (wanted := core(c.keyword))  # a keyword of only punctuation matches nothing
        )
        return cls(
            exact=frozenset(w for _, w, mode in coupons if mode != "contains"),
            contains=tuple(w for _, w, mode in coupons if mode == "contains"),
            coupons=coupons,
        )

    def first(self, said: str, normalized: str) -> Coupon | None:
        for coupon, wanted, mode in self.coupons:
            if (wanted in normalized) if mode == "contains" else (said == wanted):
                return coupon
        return None


@dataclass(frozen=True)
class CouponKeyword:
    """The matcher's intent: the live campaign and the coupon whose keyword the message is."""

    active: ActiveCampaign
    coupon: Coupon


class CouponKeywords:
    """Each loaded campaign's normalised keywords, by campaign object (bounded)."""

    def __init__(self, size: int = CAMPAIGNS_REMEMBERED) -> None:
        self.size = size
        # id(campaign) -> (campaign, its keywords); holding `campaign` keeps its id from being reused
        self.by_id: dict[int, tuple[Campaign, CampaignKeywords]] = {}

    def of(self, campaign: Campaign) -> CampaignKeywords:
        found = self.by_id.get(id(campaign))
        if found is not None and found[0] is campaign:
            return found[1]
        if len(self.by_id) >= self.size:  # reloads piled up: start again from what is loaded now
            self.by_id.clear()
        keywords = CampaignKeywords.of(campaign)
        self.by_id[id(campaign)] = (campaign, keywords)
        return keywords


def keywords_of(services: Services) -> CouponKeywords:
    return services.get_or_make(CouponKeywords, CouponKeywords)


def match_coupon(msg: GroupMessage, view: MessageView) -> CouponKeyword | None:
    """The coupon matcher: the live coupon whose keyword the message is, else None (memory only)."""
    campaigns = view.campaigns
    if not campaigns or len(view.text) > MAX_KEYWORD_MESSAGE:
        return None
    memo = keywords_of(view.services)
    said = view.core
    hit: list[tuple[ActiveCampaign, CampaignKeywords]] = []
    for active in campaigns:
        campaign = active.campaign
        found = memo.by_id.get(id(campaign))
        keywords = found[1] if found is not None and found[0] is campaign else memo.of(campaign)
        if said in keywords.exact or any(w in view.normalized for w in keywords.contains):
            hit.append((active, keywords))
    if not hit:
        return None
    return _first_live(hit, said, view.normalized, view.services.clock.now())


def _first_live(
    hit: list[tuple[ActiveCampaign, CampaignKeywords]], said: str, normalized: str, now: datetime
) -> CouponKeyword | None:
    """As the handler always chose: live campaigns earliest closing first, coupons in file order."""
    live = [(a, k) for a, k in hit if a.starts_at <= now < a.closes_at]
    for active, keywords in sorted(live, key=lambda ak: (ak[0].closes_at, ak[0].campaign.id)):
        coupon = keywords.first(said, normalized)
        if coupon is not None:
            return CouponKeyword(active, coupon)
    return None
