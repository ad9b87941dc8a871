"""Leader rights come from memory on every command: grants are read once at build, re-read per change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot.vocab import Role
from tests.conftest import AppFactory


def test_grants_made_before_a_start_are_known_without_a_query_per_lookup(
    make_app: AppFactory, clock: Any
) -> None:
    app, _ = make_app()
    app.services.repo.grant_role("g-far", "wxid_lead", "leader", "wxid_admin", clock.now())
    app, _ = make_app()  # a restart: the grant is in the database only
    statements: list[str] = []
    engine = app.services.repo.engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    roles = app.services.roles
    assert roles.role_of("wxid_lead", "g-far") == Role.LEADER
    assert roles.role_of("wxid_lead", "g-other") == Role.MEMBER
    assert roles.role_of("wxid_someone", "g-far") == Role.MEMBER
    assert roles.leader_groups("wxid_lead") == ["g-far"]
    assert statements == []
    app.services.repo.revoke_role("g-far", "wxid_lead", "leader")
    roles.invalidate("g-far")  # what `/leader remove` does after the change
    assert roles.role_of("wxid_lead", "g-far") == Role.MEMBER
