"""A node run reads its groups' names in one statement, not one ORM session a group.

The opening post names its group; in a burst of 100 openings over 10,000 groups each name was a
`Session.get` on the event loop, about a twentieth of the fan-out lane's time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, insert

from bot.storage.engine import init_db, make_engine
from bot.storage.repo import PREFETCH_CHUNK, Repo
from bot.storage.tables import GroupRow
from tests.commerce.selling_kit import G1, G2, build_shop, campaign_text
from tests.fakes import FakeClock

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_prefetched_names_are_read_a_chunk_a_statement_and_then_from_memory(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    init_db(engine)
    count = PREFETCH_CHUNK + 3
    rows = [{"id": f"g{n}", "name": f"团购{n}群", "updated_at": NOW} for n in range(count)]
    rows[7]["name"] = ""  # a group whose name is not known yet is called by its id
    with engine.begin() as conn:
        conn.execute(insert(GroupRow), rows)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    repo = Repo(engine)
    repo.note_group_name("g1", "改名后的群")  # a rename the inbound log has not written yet
    ids = [f"g{n}" for n in range(count)] + ["never-seen"]
    repo.prefetch_group_names(ids)  # the first PREFETCH_CHUNK: one statement
    assert len(statements) == 1
    repo.prefetch_group_names(ids)  # those known now: no statement for them
    assert len(statements) == 1
    repo.prefetch_group_names(ids[PREFETCH_CHUNK:])  # the next ones, as a fan-out goes on
    assert len(statements) == 2
    names = [repo.group_name(group_id) for group_id in ids]
    assert len(statements) == 2
    assert names[0] == "团购0群" and names[1] == "改名后的群" and names[7] == "g7"
    assert names[-2] == f"团购{count - 1}群" and names[-1] == "never-seen"


async def test_an_opening_that_names_each_group_reads_their_names_in_one_statement(
    tmp_path: Path, clock: FakeClock
) -> None:
    groups = (G1, G2, "团购三群", "团购四群")
    text = campaign_text(groups=groups) + 'open:\n  text: "{{ group_name }} 现在开团啦"\n'
    shop = build_shop(tmp_path, clock, text=text)
    engine = shop.app.services.repo.engine
    reads: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM groups" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    shop.app.services.repo._group_names.clear()  # as after a restart, before any chat
    await shop.open()
    assert shop.registry.outcomes[-1].posted == len(groups)
    assert len(reads) == 1, reads
    for group in groups:
        assert shop.texts(group) and any(t.startswith(f"{group} 现在开团啦") for t in shop.texts(group))
