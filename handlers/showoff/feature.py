"""晒单有礼 (issue 17): after closing, the first N buyers of a campaign to post a picture in its
groups get the declared coupon and/or points, once each, with one coalesced thanks post."""

from bot.feature import Feature
from handlers.showoff import chat

FEATURE = Feature("showoff", modules=(chat,))
