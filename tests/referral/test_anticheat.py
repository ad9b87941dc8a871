"""反作弊风控: each rule on its own, on facts alone (no database), and where each one stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.referral.anticheat import (
    LEFT_EARLY,
    LOOKALIKE,
    SEEN_ELSEWHERE,
    SILENT_BURST,
    Facts,
    flags,
)

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def invite(
    invite_id: int,
    invitee: str,
    *,
    inviter: str = "alice",
    name: str | None = None,
    minutes: float = 0,
    left_after: timedelta | None = None,
    spoke: bool = True,
    seen_elsewhere: bool = False,
) -> Facts:
    joined = T0 + timedelta(minutes=minutes)
    return Facts(
        invite_id=invite_id,
        inviter=inviter,
        invitee=invitee,
        name=name if name is not None else invitee,
        joined_at=joined,
        left_at=joined + left_after if left_after is not None else None,
        seen_elsewhere=seen_elsewhere,
        spoke=spoke,
    )


def test_leaving_within_24_hours_is_flagged_and_after_is_not() -> None:
    found = flags(
        [
            invite(1, "nina", left_after=timedelta(hours=23, minutes=59)),
            invite(2, "omar", minutes=30, left_after=timedelta(hours=24)),
            invite(3, "pia", minutes=60),
        ]
    )
    assert found == {1: (LEFT_EARLY,)}


def test_three_silent_invitees_within_an_hour_hold_the_inviters_invites_of_that_hour() -> None:
    found = flags(
        [
            invite(1, "jack", spoke=False),
            invite(2, "kate", minutes=20, spoke=False),
            invite(3, "nora", minutes=25),  # spoke (ordered) but joined inside the burst
            invite(4, "liam", minutes=59, spoke=False),
            invite(5, "omar", minutes=200),  # hours later: not part of it
        ]
    )
    assert found == {1: (SILENT_BURST,), 2: (SILENT_BURST,), 3: (SILENT_BURST,), 4: (SILENT_BURST,)}


def test_two_silent_or_three_spread_over_more_than_an_hour_are_no_burst() -> None:
    assert flags([invite(1, "jack", spoke=False), invite(2, "kate", minutes=5, spoke=False)]) == {}
    spread = [
        invite(1, "jack", spoke=False),
        invite(2, "kate", minutes=40, spoke=False),
        invite(3, "liam", minutes=61, spoke=False),
    ]
    assert flags(spread) == {}
    other_inviters = [
        invite(1, "jack", spoke=False),
        invite(2, "kate", minutes=5, spoke=False, inviter="bob"),
        invite(3, "liam", minutes=10, spoke=False, inviter="carol"),
    ]
    assert flags(other_inviters) == {}  # one inviter's burst, not three people's quiet friends


def test_an_invitee_seen_in_another_group_before_is_flagged() -> None:
    assert flags([invite(1, "nina", seen_elsewhere=True), invite(2, "omar")]) == {1: (SEEN_ELSEWHERE,)}


def test_running_numbered_ids_and_names_differing_only_by_digits_look_alike() -> None:
    ids = flags([invite(1, "shop01", name="甲"), invite(2, "shop03", name="乙"), invite(3, "nina")])
    assert ids == {1: (LOOKALIKE,), 2: (LOOKALIKE,)}
    names = flags(
        [invite(1, "u1x", name="小王1"), invite(2, "qq", name="小王2"), invite(3, "zz", name="小李")]
    )
    assert names == {1: (LOOKALIKE,), 2: (LOOKALIKE,)}


def test_near_misses_do_not_look_alike() -> None:
    assert flags([invite(1, "shop01", name="甲"), invite(2, "shop90", name="乙")]) == {}  # numbers far apart
    assert (
        flags([invite(1, "a1", name="甲"), invite(2, "a2", name="乙")]) == {}
    )  # a prefix too short to mean much
    assert flags([invite(1, "x", name="小王"), invite(2, "y", name="小王")]) == {}  # the same name: no digits
    assert flags([invite(1, "x", name="88"), invite(2, "y", name="99")]) == {}  # nothing but digits
    assert flags([invite(1, "shop01", inviter="alice"), invite(2, "shop02", inviter="bob")]) == {}


def test_an_invite_breaking_several_rules_names_each_once() -> None:
    found = flags(
        [
            invite(1, "shop01", spoke=False, left_after=timedelta(hours=1), seen_elsewhere=True),
            invite(2, "shop02", minutes=1, spoke=False),
            invite(3, "shop03", minutes=2, spoke=False),
        ]
    )
    assert found[1] == (LEFT_EARLY, SILENT_BURST, SEEN_ELSEWHERE, LOOKALIKE)
    assert found[2] == found[3] == (SILENT_BURST, LOOKALIKE)
