"""Points (积分): the append-only ledger every growth loop pays through, 签到, 我的积分, and order
points at close. Other features credit and debit through `points_of(services)` (`PointsLedger`);
docs/growth.md says what earns points and what the ledger guarantees."""

from handlers.points.ledger import PointsEntry, PointsLedger, points_of

__all__ = ["PointsEntry", "PointsLedger", "points_of"]
