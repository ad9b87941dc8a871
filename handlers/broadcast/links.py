"""Per-group tracking links: each web address in a broadcast becomes the group's own short link.

With the web board on (`web.enabled`), a post's `https://shop.example.com/x` becomes
`{board}/t/KQEQ4` (the group's code; a second address `{board}/t/KQEQ4/2`), which the board's
server redirects to the address and counts as one click for that broadcast and group
(handlers/broadcast/clicks.py). Without the board the text is left as written and the reply code
is the only tracking. Pure: no I/O.
"""

from __future__ import annotations

import re

_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_TRAILING = ".,;:!?'\")]"  # sentence punctuation right after an address is not part of it
MAX_LINKS = 9  # a broadcast with more addresses keeps the rest as written


def urls_in(text: str) -> list[str]:
    """The http(s) addresses in `text`, in order (each as often as it appears)."""
    return [_trim(m.group(0)) for m in _URL.finditer(text)][:MAX_LINKS]


def link_path(code: str, n: int) -> str:
    """The path of the group's n-th link (1-based): /t/CODE, /t/CODE/2, …"""
    return f"/t/{code}" if n == 1 else f"/t/{code}/{n}"


def with_links(text: str, base: str, code: str) -> str:
    """`text` with its n-th address replaced by `{base}/t/{code}[/n]` (the first MAX_LINKS)."""
    count = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal count
        found = match.group(0)
        url = _trim(found)
        if count >= MAX_LINKS:
            return found
        count += 1
        return f"{base}{link_path(code, count)}{found[len(url) :]}"

    return _URL.sub(swap, text)


def _trim(found: str) -> str:
    url = found.rstrip(_TRAILING)
    while url.count("(") > url.count(")") and found[len(url) : len(url) + 1] == ")":
        url += ")"  # https://x/a_(b): a closing parenthesis the address opened is its own
    return url


__all__ = ["MAX_LINKS", "link_path", "urls_in", "with_links"]
