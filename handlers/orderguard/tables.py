"""Tables of the order guard."""

from __future__ import annotations
