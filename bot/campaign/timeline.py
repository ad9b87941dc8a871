"""Compile a campaign into its timeline: concrete, sorted nodes with deterministic ids.

Pure functions, no scheduler: the scheduling layer turns each node into one job with id
``campaign:<campaign id>:<node id>`` and uses ``critical`` to choose the misfire policy. The
node ids are derived from what the admin wrote (the kind and the time mark), never from list
positions or counters, so reloading an edited file maps unchanged nodes to the same ids and the
executed-node ledger keeps working across reloads and restarts.

Node ids (``<kind>-<mark>``; the mark is the canonical ``T±…``/``C±…`` form, see
:mod:`bot.campaign.times`):

=============== ====================== =====================================================
kind            id                     from
=============== ====================== =====================================================
preheat         ``preheat-T-3d``       each ``preheat`` entry
countdown       ``countdown-T-10m``    each ``countdowns`` mark
redpacket       ``redpacket-T-10m``    each ``red_packets`` burst
open            ``open``               ``opens_at``
broadcast       ``broadcast-T+30m``    each ``broadcasts.at`` mark; ``every`` ticks ``broadcast-T+26h``
close           ``close``              ``closes_at``
followup        ``followup-C+1d``      each ``followups`` entry (mark relative to closing)
reopen          ``reopen``             ``reopen.at`` (限时返场; one per campaign)
reopen-close    ``reopen-close``       ``reopen.at + reopen.window``
=============== ====================== =====================================================

A relative mark keeps its own spelling in canonical form (``T-1d2h``, ``T-26h``); an absolute
time is labelled by its elapsed offset from T (from C for follow-ups), e.g. ``preheat-T-3d``.
Interval ticks are labelled in elapsed hours (``T+2h`` … ``T+26h``); a tick that coincides with
an explicit ``broadcasts.at`` mark is merged into it. The validator rejects two nodes of one kind
at the same instant, so ids are unique (see :func:`_unique` for the one DST corner case).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from bot.campaign.models import Campaign, in_quiet_hours
from bot.campaign.times import TimeSpec, format_duration, format_elapsed, to_utc

__all__ = ["KINDS", "SECTION_KINDS", "TimelineNode", "compile_timeline"]

KINDS: Final = ("preheat", "countdown", "redpacket", "open", "broadcast", "close", "followup")
"""Node kinds, in the order nodes due at the same instant run (countdown before its burst)."""

SECTION_KINDS: Final = ("reopen", "reopen-close")
"""Kinds only a campaign with the section has (``reopen:``), posted by the selling feature; after
:data:`KINDS` in the same-instant order. Kept apart so `KINDS` stays what every campaign has."""


@dataclass(frozen=True)
class TimelineNode:
    """One scheduled step of a campaign.

    Attributes:
        node_id: deterministic id, unique within the campaign (see the module docstring).
        kind: one of :data:`KINDS` or :data:`SECTION_KINDS`.
        fire_at: aware time in the campaign timezone.
        offset: elapsed time from opening (negative before it).
        params: plain JSON-serialisable data the job needs (text/template, burst size, ...).
        critical: True for state changes (open, close) that must run even late; False for
            informational posts, which are skipped once past their grace time.
    """

    node_id: str
    kind: str
    fire_at: datetime
    offset: timedelta
    params: dict[str, object]
    critical: bool


def _mark(spec: TimeSpec, at: datetime, anchor_at: datetime, anchor: str = "T") -> str:
    """The id mark: the written relative mark, or the elapsed offset for absolute times."""
    if spec.anchor is not None and (spec.anchor == anchor or anchor == "T"):
        return str(spec)
    return format_elapsed("C" if anchor == "C" else "T", to_utc(at) - to_utc(anchor_at))


def _post(post: Any) -> dict[str, object]:
    return {"text": post.text, "template": post.template}


def compile_timeline(campaign: Campaign) -> list[TimelineNode]:
    """Every node of ``campaign``, sorted by time (then by kind order, then id).

    Assumes a campaign that passed validation (ordering and uniqueness are checked there).
    """
    opens = campaign.opens_at
    closes = campaign.closes_at
    nodes: list[TimelineNode] = []

    def add(kind: str, node_id: str, at: datetime, params: dict[str, object], critical: bool = False) -> None:
        at = at.astimezone(campaign.tz)
        nodes.append(TimelineNode(node_id, kind, at, to_utc(at) - to_utc(opens), params, critical))

    for post in campaign.preheat:
        at = campaign.resolve(post.at)
        params = _post(post) | {"products": list(post.products), "coupon": post.coupon}
        add("preheat", f"preheat-{_mark(post.at, at, opens)}", at, params)

    for spec in campaign.countdowns:
        at = campaign.resolve(spec)
        remaining = to_utc(opens) - to_utc(at)
        params = {
            "remaining": format_duration(remaining),
            "remaining_seconds": int(remaining.total_seconds()),
        }
        add("countdown", f"countdown-{_mark(spec, at, opens)}", at, params)

    for burst in campaign.red_packets:
        at = campaign.resolve(burst.at)
        params = _post(burst) | {
            "packets": burst.packets,
            "budget": f"{burst.budget:.2f}",
            "budget_cents": burst.budget_cents,
            "keyword": burst.keyword,
            "window_seconds": int(burst.window.total_seconds()),
        }
        add("redpacket", f"redpacket-{_mark(burst.at, at, opens)}", at, params)

    add("open", "open", opens, _post(campaign.open), critical=True)

    broadcasts = campaign.broadcasts
    common = _post(broadcasts) | {
        "low_stock_threshold": broadcasts.low_stock_threshold,
        "window_seconds": int(broadcasts.window.total_seconds()),
    }
    explicit: set[datetime] = set()
    for spec in broadcasts.at:
        at = campaign.resolve(spec)
        explicit.add(to_utc(at))
        add("broadcast", f"broadcast-{_mark(spec, at, opens)}", at, common | {"source": "at"})
    if broadcasts.every is not None:
        tick = to_utc(opens) + broadcasts.every
        while tick < to_utc(closes):
            quiet = broadcasts.quiet_hours is not None and in_quiet_hours(
                tick.astimezone(campaign.tz).time(), broadcasts.quiet_hours
            )
            if tick not in explicit and not quiet:
                mark = "T+" + format_duration(tick - to_utc(opens), days=False)
                add("broadcast", f"broadcast-{mark}", tick, common | {"source": "every"})
            tick += broadcasts.every

    close = campaign.close
    params = _post(close) | {
        "results": close.results,
        "thanks": close.thanks,
        "next_preview": close.next_preview,
    }
    add("close", "close", closes, params, critical=True)

    for followup in campaign.followups:
        at = campaign.resolve(followup.at)
        add("followup", f"followup-{_mark(followup.at, at, closes, 'C')}", at, _post(followup))

    reopen = campaign.reopen
    if reopen is not None and reopen.enabled:
        # Fixed ids, like open/close: a state change must not run twice because `at` was edited.
        at = campaign.resolve(reopen.at)
        ends = to_utc(at) + reopen.window  # elapsed time, across a DST change too
        params = {"window_seconds": int(reopen.window.total_seconds()), "ends_at": ends.isoformat()}
        add("reopen", "reopen", at, params, critical=True)
        add("reopen-close", "reopen-close", ends, {"started_at": at.isoformat()}, critical=True)

    order = {kind: i for i, kind in enumerate(KINDS + SECTION_KINDS)}
    nodes.sort(key=lambda n: (to_utc(n.fire_at), order[n.kind], n.node_id))
    return _unique(nodes)


def _unique(nodes: list[TimelineNode]) -> list[TimelineNode]:
    """Safety net: suffix ``~2``, ``~3``… to an id already used by an earlier node.

    Validation rejects same-kind nodes at one instant, so this only triggers when a calendar-day
    mark and an elapsed label spell the same (``T+1d`` across a DST change); still deterministic.
    """
    seen: dict[str, int] = {}
    out = []
    for node in nodes:
        count = seen.get(node.node_id, 0) + 1
        seen[node.node_id] = count
        out.append(node if count == 1 else replace(node, node_id=f"{node.node_id}~{count}"))
    return out
