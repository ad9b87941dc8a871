"""Coupon codes: short enough to read out, long enough not to be guessed.

Twelve characters from a 31-symbol alphabet without look-alikes (no 0/O, 1/I/L)
give about 59 bits from `secrets`; a code is also bound to its member, so even
a leaked code is useless to anyone else.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GROUPS = 3
GROUP_LEN = 4


def new_code() -> str:
    """A fresh random code like `K7QM-3XTA-9PRW`."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LEN))
    return "-".join(chars[i : i + GROUP_LEN] for i in range(0, len(chars), GROUP_LEN))
