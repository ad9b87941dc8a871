"""Campaign scripts: YAML file → validated :class:`Campaign` → compiled timeline nodes.

Admins describe each campaign (一次团购) in ``data/campaigns/<id>.yaml``; see
``docs/campaigns.md`` for the format. This package only loads, validates and compiles — it
schedules nothing and sends nothing, so it is safe to import anywhere.
"""

from bot.campaign.loader import load_campaign, parse_campaign, validate_paths
from bot.campaign.models import Campaign, Coupon, FaqEntry, Product, RedPacketBurst
from bot.campaign.problems import CampaignError, Problem, format_problems
from bot.campaign.timeline import KINDS, TimelineNode, compile_timeline
from bot.campaign.times import TimeSpec, parse_duration, parse_time_spec

__all__ = [
    "KINDS",
    "Campaign",
    "CampaignError",
    "Coupon",
    "FaqEntry",
    "Problem",
    "Product",
    "RedPacketBurst",
    "TimeSpec",
    "TimelineNode",
    "compile_timeline",
    "format_problems",
    "load_campaign",
    "parse_campaign",
    "parse_duration",
    "parse_time_spec",
    "validate_paths",
]
