"""Tables of the moderation feature."""

from __future__ import annotations
