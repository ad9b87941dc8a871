"""Splitting a red-packet budget (拼手气红包) with the double-mean method (二倍均值法).

Each packet but the last is drawn uniformly between 1 fen and twice the mean of
what is left (capped so every later packet can still get 1 fen); the last takes
the remainder. Every draw has the remaining mean as its expectation, so nobody
is favoured by position, and the shares are shuffled before they are handed out
so the order of grabbing predicts nothing. Integer fen throughout: the shares
always sum exactly to the budget.
"""

from __future__ import annotations

import random
import secrets

MIN_SHARE_CENTS = 1

_system_random = secrets.SystemRandom()


def split_budget(budget_cents: int, packets: int, rng: random.Random | None = None) -> list[int]:
    """`packets` random shares in fen, each at least 1 fen, summing to `budget_cents`.

    Raises:
        ValueError: fewer fen than packets, or no packets.
    """
    if packets < 1:
        raise ValueError("a burst needs at least one packet")
    if budget_cents < packets * MIN_SHARE_CENTS:
        raise ValueError(f"budget of {budget_cents} fen cannot give {packets} packets at least 1 fen each")
    rng = rng or _system_random
    shares: list[int] = []
    remaining = budget_cents
    for left in range(packets, 1, -1):
        upper = min(2 * remaining // left, remaining - (left - 1) * MIN_SHARE_CENTS)
        share = rng.randint(MIN_SHARE_CENTS, max(MIN_SHARE_CENTS, upper))
        shares.append(share)
        remaining -= share
    shares.append(remaining)
    rng.shuffle(shares)
    return shares
