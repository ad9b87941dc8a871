"""推荐有礼 (issue 17): invites from joins and invite codes, credited at close when the newcomer
orders, both sides rewarded, ladders once ever, a masked leaderboard, and anti-cheat holds that
the admins decide (docs/growth.md). Its tables are listed in `bot.schema`."""

from bot.feature import Feature
from handlers.referral import admin, chat, closing, figures

FEATURE = Feature("referral", modules=(chat, admin), node_hooks=closing.NODE_HOOKS, figures=figures.figures)
