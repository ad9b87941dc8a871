"""Every table of the bot, in one list: the core's and each feature's.

Storage knows no feature, so it cannot find the features' tables itself; the app creates
the schema from here. A feature that adds a table adds one import line below.
"""

from __future__ import annotations

from sqlalchemy import Table, inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.storage import tables as core
from bot.storage.engine import init_db
from bot.storage.migrate import add_missing_columns, schema_lock
from handlers.aftersales import tables as aftersales
from handlers.broadcast import tables as broadcast
from handlers.coupons import tables as coupons
from handlers.faq import tables as faq
from handlers.fulfilment import payment_tables, pickup_tables
from handlers.gifts import tables as gifts
from handlers.leaderboard import tables as leaderboard
from handlers.lottery import tables as lottery
from handlers.moderation import tables as moderation
from handlers.orderguard import tables as orderguard
from handlers.points import tables as points
from handlers.redpacket import tables as redpacket
from handlers.referral import tables as referral
from handlers.selling import tables as selling
from handlers.showoff import tables as showoff
from handlers.stars import tables as stars
from handlers.tiers import tables as tiers
from handlers.welcome import tables as welcome
from schedules.jobs import create_job_table

TABLE_MODULES = (
    core,
    aftersales,
    broadcast,
    coupons,
    faq,
    gifts,
    leaderboard,
    lottery,
    moderation,
    orderguard,
    payment_tables,
    pickup_tables,
    points,
    redpacket,
    referral,
    selling,
    showoff,
    stars,
    tiers,
    welcome,
)


def all_tables() -> list[Table]:
    """The tables these modules declare, by name (what `tuanbot` creates on start)."""
    declared = {
        obj.__table__.name
        for module in TABLE_MODULES
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, SQLModel) and hasattr(obj, "__table__")
    }
    return [table for name, table in SQLModel.metadata.tables.items() if name in declared]


def create_schema(engine: Engine) -> None:
    """Create the missing tables of the core, every feature and the scheduler's job store;
    existing data is kept."""
    tables = all_tables()
    with schema_lock(engine):  # several account processes may start at once on an empty database
        existing = set(inspect(engine).get_table_names())  # tables made now have every column
        init_db(engine, tables)
        add_missing_columns(engine, [t for t in tables if t.name in existing])
        create_job_table(engine)
