"""Feature packages. The app collects handlers, node kinds and services from this list only.

One feature per line, so features can be added without touching each other; each package's
`feature.py` says what it brings (`bot.feature.Feature`).
"""

from bot.feature import Feature
from handlers.admin.feature import FEATURE as ADMIN
from handlers.aftersales.feature import FEATURE as AFTERSALES
from handlers.board.feature import FEATURE as BOARD
from handlers.broadcast.feature import FEATURE as BROADCAST
from handlers.coupons.feature import FEATURE as COUPONS
from handlers.faq.feature import FEATURE as FAQ
from handlers.fulfilment.feature import FEATURE as FULFILMENT
from handlers.gifts.feature import FEATURE as GIFTS
from handlers.help.feature import FEATURE as HELP
from handlers.leaderboard.feature import FEATURE as LEADERBOARD
from handlers.lottery.feature import FEATURE as LOTTERY
from handlers.moderation.feature import FEATURE as MODERATION
from handlers.monitoring.feature import FEATURE as MONITORING
from handlers.orderguard.feature import FEATURE as ORDERGUARD
from handlers.points.feature import FEATURE as POINTS
from handlers.poster.feature import FEATURE as POSTER
from handlers.redpacket.feature import FEATURE as REDPACKET
from handlers.referral.feature import FEATURE as REFERRAL
from handlers.selling.feature import FEATURE as SELLING
from handlers.showoff.feature import FEATURE as SHOWOFF
from handlers.stars.feature import FEATURE as STARS
from handlers.tiers.feature import FEATURE as TIERS
from handlers.welcome.feature import FEATURE as WELCOME

FEATURES: list[Feature] = [
    HELP,
    ADMIN,
    MODERATION,
    WELCOME,
    COUPONS,
    REDPACKET,
    FAQ,
    SELLING,
    FULFILMENT,
    AFTERSALES,
    MONITORING,
    ORDERGUARD,
    POSTER,
    POINTS,
    LOTTERY,
    SHOWOFF,
    GIFTS,
    REFERRAL,
    TIERS,
    LEADERBOARD,
    STARS,
    BOARD,
    BROADCAST,
]
