"""The selling feature's figures for /stats and `tuanbot report` (`bot.feature.FeatureFigures`):
what the 限时返场 sold. The sale's own figures are the report's (`handlers.monitoring.report`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine

from handlers.selling.reopen_store import reopen_sales

__all__ = ["figures"]


def figures(engine: Engine, campaign_id: str, group_ids: Sequence[str] | None) -> dict[str, int]:
    """reopen_orders (order messages with a paid line), reopen_units (paid), reopen_free_units
    (买赠 gifts) and reopen_gmv_cents, over `group_ids` (None: every group); all 0 without a 返场."""
    with engine.connect() as conn:
        sales = reopen_sales(conn, campaign_id, group_ids)
    return {
        "reopen_orders": sales.orders,
        "reopen_units": sales.units,
        "reopen_free_units": sales.free_units,
        "reopen_gmv_cents": sales.gmv_cents,
    }
