"""The three padded-sales patterns (刷单), as pure functions of facts read from the database.

Each returns `Finding`s: which instance of the pattern (its `scope`), the members in it with
their order counts, and the figures that explain why (`detail`, worded by the templates).
Nothing here decides anything: the admins do, and flagged orders keep counting.

An "order" here is one 接龙 message that placed at least one line (its order rows share the
message's time), so `A1+2，A2+1` is one order, not two; a cancellation likewise is one
cancel message (its rows share `cancelled_at`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.privacy import mask_contacts
from handlers.orderguard.signals import address_key, digest, normalise_name, phones_in
from handlers.orderguard.tables import CANCEL_AFTER_BROADCAST, LOOKALIKE, NEW_SILENT

CANCELLED = "cancelled"
UNNAMED = frozenset({normalise_name("群友")})
"""The name the bot gives members without one (`handlers.selling.parse.safe_name`): not a signal."""


@dataclass(frozen=True)
class OrderFact:
    """One order row, as the guard needs it."""

    member_id: str
    group_id: str
    member_name: str
    created_at: datetime
    status: str
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class Broadcast:
    """A sales broadcast node posted in a group (its ledger row), and when."""

    group_id: str
    node_id: str
    at: datetime


@dataclass(frozen=True)
class Flagged:
    """One member in a finding: their group, name as ordered, and how many orders count."""

    member_id: str
    group_id: str
    name: str
    orders: int


@dataclass(frozen=True)
class Finding:
    """One instance of a pattern: told to the admins once per member (`handlers.orderguard.store`)."""

    pattern: str
    scope: str
    members: tuple[Flagged, ...]
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def orders(self) -> int:
        return sum(m.orders for m in self.members)

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(m.group_id for m in self.members))


# ------------------------------------------------------------------------ 1. new silent members
def new_silent(
    orders: Iterable[OrderFact],
    joined: Mapping[tuple[str, str], datetime],
    spoke: Mapping[tuple[str, str], list[datetime]],
    *,
    minutes: float,
    threshold: int,
) -> list[Finding]:
    """Groups with ≥ `threshold` orders from members who joined < `minutes` before ordering and said
    nothing in the group before it but their orders.

    `joined[(group, member)]` is the membership's reported join (members never seen joining are
    not new); `spoke` the times of the member's messages there. The order messages themselves
    are recognised by their time (an order's `created_at` is its message's time), so ordering
    twice is not "speaking".
    """
    limit = timedelta(minutes=minutes)
    placed: dict[tuple[str, str], set[datetime]] = defaultdict(set)
    names: dict[tuple[str, str], str] = {}
    for order in orders:
        placed[(order.group_id, order.member_id)].add(order.created_at)
        names.setdefault((order.group_id, order.member_id), order.member_name)
    per_group: dict[str, dict[str, int]] = defaultdict(dict)
    for key, times in placed.items():
        group_id, member_id = key
        join = joined.get(key)
        if join is None:
            continue
        said = [t for t in spoke.get(key, []) if t not in times]
        count = sum(1 for t in times if timedelta(0) <= t - join < limit and not any(s < t for s in said))
        if count:
            per_group[group_id][member_id] = count
    findings = []
    for group_id, members in sorted(per_group.items()):
        if sum(members.values()) < threshold:
            continue
        flagged = tuple(Flagged(m, group_id, names[(group_id, m)], n) for m, n in sorted(members.items()))
        findings.append(Finding(NEW_SILENT, group_id, flagged, {"minutes": _num(minutes)}))
    return findings


# ------------------------------------------------------------------------ 2. look-alike ids
def lookalike(
    orders: Iterable[OrderFact],
    remarks: Mapping[str, str],
    names: Mapping[str, str],
    *,
    address_members: int,
) -> list[Finding]:
    """Different member ids of one campaign sharing a mobile number in their remarks (≥ 2 ids), a
    building and room in their remarks within one group (≥ `address_members` ids: a couple sharing
    a flat is ordinary), or the same display name once normalised (≥ 2 ids).

    `names` are the members' current display names, compared as well as the names ordered under.
    """
    first_group: dict[str, str] = {}
    ordered: dict[str, str] = {}
    counts: dict[str, set[datetime]] = defaultdict(set)
    name_keys: dict[str, set[str]] = defaultdict(set)
    for order in orders:
        first_group.setdefault(order.member_id, order.group_id)
        ordered.setdefault(order.member_id, order.member_name)
        counts[order.member_id].add(order.created_at)
        name_keys[order.member_id].add(normalise_name(order.member_name))
    by_signal: dict[tuple[str, str], set[str]] = defaultdict(set)
    shown: dict[tuple[str, str], str] = {}
    for member_id in first_group:
        text = remarks.get(member_id, "")
        for phone in phones_in(text):
            by_signal[("phone", phone)].add(member_id)
            shown[("phone", phone)] = mask_contacts(phone)
        place = address_key(text)
        if place:
            key = ("address", f"{first_group[member_id]}\x1f{place}")
            by_signal[key].add(member_id)
            shown[key] = mask_contacts(place)
        for name in name_keys[member_id] | {normalise_name(names.get(member_id, ""))}:
            if name and name not in UNNAMED:
                by_signal[("name", name)].add(member_id)
                shown[("name", name)] = mask_contacts(name)
    findings = []
    for (signal, value), members in sorted(by_signal.items()):
        need = address_members if signal == "address" else 2
        if len(members) < need:
            continue
        flagged = tuple(Flagged(m, first_group[m], ordered[m], len(counts[m])) for m in sorted(members))
        detail = {"signal": signal, "shown": shown[(signal, value)], "ids": len(members)}
        findings.append(Finding(LOOKALIKE, f"{signal}:{digest(value)}", flagged, detail))
    return findings


# ------------------------------------------------------------------------ 3. cancels after a broadcast
def cancels_after_broadcast(
    orders: Iterable[OrderFact],
    broadcasts: Iterable[Broadcast],
    *,
    minutes: float,
    threshold: int,
) -> list[Finding]:
    """Broadcasts followed, within `minutes` in their group, by ≥ `threshold` cancellations of
    orders placed before them (orders that swelled the "已售N件" the broadcast showed).

    A cancellation belongs to the latest broadcast of its group before it, so two broadcasts
    close together never count one cancel twice.
    """
    window = timedelta(minutes=minutes)
    posts: dict[str, list[Broadcast]] = defaultdict(list)
    for post in broadcasts:
        posts[post.group_id].append(post)
    cancels: dict[Broadcast, dict[str, set[datetime]]] = defaultdict(lambda: defaultdict(set))
    names: dict[str, str] = {}
    for order in orders:
        if order.status != CANCELLED or order.cancelled_at is None:
            continue
        before = [p for p in posts.get(order.group_id, []) if p.at <= order.cancelled_at]
        if not before:
            continue
        post = max(before, key=lambda p: p.at)
        if order.created_at < post.at and order.cancelled_at - post.at < window:
            cancels[post][order.member_id].add(order.cancelled_at)
            names.setdefault(order.member_id, order.member_name)
    findings = []
    for post, members in sorted(cancels.items(), key=lambda item: (item[0].group_id, item[0].at)):
        if sum(len(times) for times in members.values()) < threshold:
            continue
        flagged = tuple(
            Flagged(m, post.group_id, names[m], len(times)) for m, times in sorted(members.items())
        )
        detail = {"minutes": _num(minutes), "at": post.at.isoformat()}
        findings.append(
            Finding(CANCEL_AFTER_BROADCAST, f"{post.group_id}\x1f{post.node_id}", flagged, detail)
        )
    return findings


def _num(value: float) -> int | float:
    """30.0 -> 30 for the wording; 7.5 stays."""
    return int(value) if float(value).is_integer() else value


__all__ = [
    "Broadcast",
    "Finding",
    "Flagged",
    "OrderFact",
    "cancels_after_broadcast",
    "lookalike",
    "new_silent",
]
