"""The selling tables: stock per (campaign, product), chain orders, pickup choices, remarks, reopens.

Stock is one row per (campaign, product), shared by all the campaign's groups
(one warehouse); a ``CHECK (stock >= 0)`` is the backstop behind the writer's
conditional decrement (`handlers.selling.batch`). Whether a group may order is
`campaign_groups.status` (`GROUPS`), owned by the campaign runtime.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from bot.storage.tables import CampaignGroupState, utc_column

ACTIVE = "active"
CANCELLED = "cancelled"
REOPEN = "reopen"  # a group's state (`GROUPS.status`) during its 限时返场, between two "closed"


class CampaignStock(SQLModel, table=True):
    """Live stock of one product of one campaign, shared by all its groups."""

    __tablename__ = "campaign_stock"
    __table_args__ = (CheckConstraint("stock >= 0", name="ck_campaign_stock_nonneg"),)

    campaign_id: str = Field(primary_key=True)
    product_code: str = Field(primary_key=True)
    name: str = ""
    price_cents: int = 0
    unit: str = ""
    limit_per_member: int = 0  # 0 = no limit
    stock: int = 0  # units left to sell
    total: int = 0  # units ever made available: the file's stock plus restocks
    file_stock: int = 0  # the campaign file's stock last applied (an edit applies the difference)
    updated_at: datetime = utc_column()


class OrderRow(SQLModel, table=True):
    """One chain-order entry: who ordered how many of what, at what price, in which group."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_orders_quantity_positive"),
        Index("ix_orders_campaign_group", "campaign_id", "group_id", "status", "id"),
        Index("ix_orders_campaign_member", "campaign_id", "member_id", "product_code", "status"),
        Index("ix_orders_campaign_product", "campaign_id", "product_code", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    group_id: str
    member_id: str
    member_name: str = ""  # display name at order time, already made safe to show in a group
    product_code: str
    quantity: int
    unit_price_cents: int
    status: str = ACTIVE
    created_at: datetime = utc_column()
    cancelled_at: datetime | None = utc_column(nullable=True)


class PickupChoice(SQLModel, table=True):
    """The pickup point (自提点) a member chose for a campaign; used to group the export."""

    __tablename__ = "order_pickups"

    campaign_id: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    pickup_point: str = ""
    updated_at: datetime = utc_column()


class OrderRemark(SQLModel, table=True):
    """A member's remark (备注) on their orders in a campaign: a room number, "放门口".

    One row per (campaign, member): the latest remark replaces the previous one. It may hold
    an address or a phone number, so it is shown to the leader and the member only, never in
    a group post.
    """

    __tablename__ = "order_remarks"

    campaign_id: str = Field(primary_key=True)
    member_id: str = Field(primary_key=True)
    text: str = ""
    updated_at: datetime = utc_column()


class ReopenWindow(SQLModel, table=True):
    """A group's 限时返场 (docs/growth.md): written by the `reopen` node, closed by `reopen-close`.

    Orders placed in the reopen are the group's orders with ids above `after_order_id` (the
    highest id when it reopened: a group's orders after its close can only come from the reopen,
    and every later insert gets a higher id) and, once closed, up to `until_order_id`. So an
    order row needs no mark of its own, and the orders table keeps its shape.
    """

    __tablename__ = "reopen_windows"

    campaign_id: str = Field(primary_key=True)
    group_id: str = Field(primary_key=True)
    opened_at: datetime = utc_column()
    closed_at: datetime | None = utc_column(nullable=True)
    after_order_id: int = 0
    until_order_id: int | None = None


STOCK = CampaignStock.__table__  # type: ignore[attr-defined]
ORDERS = OrderRow.__table__  # type: ignore[attr-defined]
REMARKS = OrderRemark.__table__  # type: ignore[attr-defined]
GROUPS = CampaignGroupState.__table__  # type: ignore[attr-defined]
REOPENS = ReopenWindow.__table__  # type: ignore[attr-defined]


__all__ = [
    "ACTIVE",
    "CANCELLED",
    "GROUPS",
    "ORDERS",
    "REMARKS",
    "REOPEN",
    "REOPENS",
    "STOCK",
    "CampaignStock",
    "OrderRemark",
    "OrderRow",
    "PickupChoice",
    "ReopenWindow",
]
