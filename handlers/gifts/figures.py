"""The gifts' figures for /stats and `tuanbot report` (`bot.feature.FeatureFigures`).

- `gifts_given`: gifts held now (a withdrawn gift no longer counts; a passed one counts once,
  for its new holder);
- `gifts_passed`: gifts moved to the next member after a cancellation (`on_cancel: pass`);
- `gifts_left`: gifts still to be given in the campaign (all groups: the N are shared).

For some groups, `gifts_given` and `gifts_passed` count the holders whose first counting order
was placed in those groups; `gifts_left` stays the campaign's.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Engine

from handlers.gifts.reads import counts, gift_rows, given_in


def figures(engine: Engine, campaign_id: str, group_ids: Sequence[str] | None) -> dict[str, int]:
    found = counts(engine, campaign_id)
    if group_ids is None:
        rows = gift_rows(engine, campaign_id)
        given, passed = len(rows), sum(1 for r in rows if r.passed)
    else:
        given = given_in(engine, campaign_id, group_ids)
        passed = given_in(engine, campaign_id, group_ids, passed=True)
    return {"gifts_given": given, "gifts_passed": passed, "gifts_left": found.left}


__all__ = ["figures"]
