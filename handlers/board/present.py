"""From a viewer and a campaign to what the pages and the API show, computed once per snapshot.

Each function returns None when the campaign is not loaded or not the viewer's. The cuts are
memoised per snapshot and scope (`LiveFigures.view`), so a page load, its JSON twin and every
live stream of the same viewer share one computation and one rendering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.aftersales.figures import figures_for
from handlers.board.access import campaign_in_scope
from handlers.board.admin import admin_memory, admin_view
from handlers.board.figures import Snapshot
from handlers.board.groups import groups_view
from handlers.board.scope import Scope
from handlers.board.views import live_view, results_view, scoped_report

if TYPE_CHECKING:
    from handlers.board.service import Board

# The live page's parts, each its own template (`templates/board/live/_<name>.html.j2`): the page
# includes them, and the live stream sends the ones that changed.
SECTIONS = ("status", "figures", "stock", "chart", "orders", "groups", "timeline", "alerts")


def _who(scope: Scope) -> tuple[str, str, bool]:
    return (scope.key, scope.member_id, scope.admin_session)


async def _snapshot(board: Board, scope: Scope, campaign_id: str) -> tuple[Snapshot, list[str]] | None:
    found = campaign_in_scope(board, scope, campaign_id)
    if found is None:
        return None
    snapshot = await board.live.snapshot(campaign_id)
    if snapshot is None:
        return None
    groups = [g for g in found[1] if g in snapshot.rows]
    return (snapshot, groups) if groups else None


async def _live(board: Board, scope: Scope, snapshot: Snapshot, groups: list[str]) -> dict[str, Any]:
    admins = list(board.services.config.admins)
    return await board.live.view(
        ("live", snapshot.campaign.id, snapshot.seq, *_who(scope)),
        lambda: live_view(snapshot, scope, groups, admins),
    )


async def live_for(board: Board, scope: Scope, campaign_id: str) -> dict[str, Any] | None:
    found = await _snapshot(board, scope, campaign_id)
    return None if found is None else await _live(board, scope, *found)


async def sections_for(board: Board, scope: Scope, campaign_id: str) -> dict[str, Any] | None:
    """The live page's parts rendered: {"seq", "sections": {name: html}}."""
    found = await _snapshot(board, scope, campaign_id)
    if found is None:
        return None
    snapshot = found[0]
    view = await _live(board, scope, *found)

    def render() -> dict[str, Any]:
        return {
            "seq": snapshot.seq,
            "sections": {name: board.render(f"board/live/_{name}.html.j2", {"v": view}) for name in SECTIONS},
        }

    return await board.live.view(("sections", snapshot.campaign.id, snapshot.seq, *_who(scope)), render)


async def groups_for(board: Board, scope: Scope, campaign_id: str) -> dict[str, Any] | None:
    found = await _snapshot(board, scope, campaign_id)
    if found is None:
        return None
    snapshot, groups = found
    services = board.services
    return await board.live.view(
        ("groups", snapshot.campaign.id, snapshot.seq, *_who(scope)),
        lambda: groups_view(services, snapshot, groups),
    )


async def results_for(board: Board, scope: Scope, campaign_id: str) -> dict[str, Any] | None:
    found = await _snapshot(board, scope, campaign_id)
    if found is None:
        return None
    snapshot, groups = found
    live = await _live(board, scope, snapshot, groups)
    engine = board.services.repo.engine

    def make() -> dict[str, Any]:
        figures = figures_for(engine, campaign_id, groups, snapshot.inputs.now)
        aftersales = None if figures is None else {**figures.as_dict(), "over_target": figures.over_target}
        return results_view(live, aftersales)

    return await board.live.view(("results", snapshot.campaign.id, snapshot.seq, *_who(scope)), make)


async def csv_for(board: Board, scope: Scope, campaign_id: str) -> str | None:
    """`tuanbot report --csv` of the viewer's groups."""
    found = await _snapshot(board, scope, campaign_id)
    if found is None:
        return None
    snapshot, groups = found
    return await board.live.view(
        ("csv", snapshot.campaign.id, snapshot.seq, *_who(scope)),
        lambda: scoped_report(snapshot, groups).to_csv(),
    )


async def admin_for(board: Board) -> dict[str, Any]:
    """The admin page (not memoised: admins open it rarely, and want it now)."""
    memory = admin_memory(board.services, live=not board.read_only)
    info = {
        "computed": board.live.computed,
        "last_seconds": round(board.live.last_seconds, 3),
        "streams": board.streams,
        "refresh_seconds": board.settings.refresh_seconds,
        "url": board.base_url,
        "read_only": board.read_only,
    }
    return await board.run(admin_view, board.services, memory, info)


__all__ = ["SECTIONS", "admin_for", "csv_for", "groups_for", "live_for", "results_for", "sections_for"]
