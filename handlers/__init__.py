"""Feature packages. The app collects handlers from this explicit list only.

One feature module per line, so features can be added without touching each other.
"""

from types import ModuleType

from handlers.admin import campaigns as campaign_admin
from handlers.admin import roles
from handlers.coupons import chat as coupons
from handlers.faq import chat as faq
from handlers.help import chat as help
from handlers.redpacket import chat as redpacket
from handlers.selling import leader as sales_leader
from handlers.selling import orders, stock
from handlers.welcome import chat as welcome

FEATURES: list[ModuleType] = [
    help,
    roles,
    campaign_admin,
    welcome,
    coupons,
    redpacket,
    faq,
    orders,
    stock,
    sales_leader,
]
