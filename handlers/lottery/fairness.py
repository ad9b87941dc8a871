"""The arithmetic anyone can redo: the seed, its commitment, the winners and the list tags.

Everything here is SHA-256 over short ASCII strings, so a member can check a draw with any
Python 3 (or any SHA-256 tool) and no knowledge of this code: nothing depends on Python's
`random` module, whose algorithms may change between versions. The expressions are the ones
the draw post prints (`templates/lottery/drawn.j2`) and docs/lottery.md explains; a test runs
the printed snippet against the published list.
"""

from __future__ import annotations

import hashlib
import secrets

SEED_BYTES = 16  # 128 bits: the commitment cannot be inverted by trying seeds
TAG_CHARS = 6


def new_seed() -> str:
    """A fresh secret seed: 32 lower-case hex characters from the OS's CSPRNG."""
    return secrets.token_hex(SEED_BYTES)


def commitment_of(seed: str) -> str:
    """What is posted before the draw: `hashlib.sha256(seed.encode()).hexdigest()`."""
    return hashlib.sha256(seed.encode()).hexdigest()


def winning_numbers(seed: str, n: int, k: int) -> list[int]:
    """The list numbers (1..n) that win, best first: the documented one-liner, verbatim.

    Each number's rank is the SHA-256 of `seed:number`; the k smallest hashes win. It reads
    only the seed and the list's length, so who wins is fixed by the seed and by the list's
    canonical order, which nobody arranges (`handlers.lottery.pool`).
    """
    return sorted(range(1, n + 1), key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())[:k]


def entry_tag(seed: str, member_id: str) -> str:
    """A member's tag on the published list: `sha256(f"{seed}:{member_id}")[:6]`.

    It lets a member find and prove their own line (their id is on `/whoami`) without the list
    showing anyone's id; it changes with every lottery, so lists cannot be linked to each other.
    """
    return hashlib.sha256(f"{seed}:{member_id}".encode()).hexdigest()[:TAG_CHARS]


__all__ = ["commitment_of", "entry_tag", "new_seed", "winning_numbers"]
