"""The red-packet split (二倍均值法): exact sums, a floor of 1 fen, N shares, no favoured position."""

from __future__ import annotations

import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.redpacket.split import split_budget


@settings(max_examples=10_000, deadline=None, database=None)
@given(
    packets=st.integers(min_value=1, max_value=200),
    extra=st.integers(min_value=0, max_value=500_000),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_ten_thousand_random_splits_sum_exactly_with_a_floor_of_one_fen(
    packets: int, extra: int, seed: int
) -> None:
    budget = packets + extra  # every budget that can pay each packet at least 1 fen
    shares = split_budget(budget, packets, random.Random(seed))
    assert len(shares) == packets
    assert sum(shares) == budget
    assert min(shares) >= 1


def test_tight_budget_gives_everyone_one_fen() -> None:
    assert split_budget(30, 30, random.Random(1)) == [1] * 30


def test_default_randomness_is_the_system_source() -> None:
    shares = split_budget(5000, 20)
    assert sum(shares) == 5000 and len(shares) == 20


@pytest.mark.parametrize(("budget", "packets"), [(5, 6), (0, 1), (100, 0)])
def test_impossible_splits_are_refused(budget: int, packets: int) -> None:
    with pytest.raises(ValueError):
        split_budget(budget, packets)


def test_no_position_is_favoured() -> None:
    """Averaged over many bursts, the first grabber and the last expect the same share (the mean)."""
    rng = random.Random(42)
    runs = [split_budget(5000, 20, rng) for _ in range(4000)]
    means = [statistics.fmean(run[i] for run in runs) for i in range(20)]
    assert all(abs(m - 250) < 15 for m in means), means
    # and the order is not predictable: the largest share lands in many different positions
    assert len({run.index(max(run)) for run in runs[:200]}) >= 15
