"""实时销量榜 (issue 17): the live sales leaderboard, posted with the campaign's broadcasts while
the sale is open, once per change (docs/growth.md)."""

from bot.feature import Feature
from handlers.leaderboard import figures, hooks

FEATURE = Feature("leaderboard", node_hooks=hooks.NODE_HOOKS, figures=figures.figures)
