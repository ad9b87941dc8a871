"""Whether bot/schema.py lists the tiers tables yet (the wiring test is an expected failure until
it does; meanwhile the feature's setup creates its own tables when tiers are declared)."""

from __future__ import annotations

import bot.schema
from handlers.tiers import tables

SCHEMA_LISTS_TIERS = tables in bot.schema.TABLE_MODULES
