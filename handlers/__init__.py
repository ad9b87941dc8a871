"""Feature modules. The app collects handlers from this explicit list only.

One feature module per line, so features can be added without touching each other.
"""

from types import ModuleType

from handlers import (
    campaign_admin,
    coupons,
    faq,
    help,
    orders,
    redpacket,
    roles,
    sales_leader,
    stock,
    welcome,
)

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
