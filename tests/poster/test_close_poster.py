"""The poster at close: drawn once, one picture per group, exactly once, riding the close's claim."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from PIL import Image

from bot.events import IMAGE_KIND
from handlers.poster.closing import POSTER_PRIORITY
from handlers.poster.files import posters_dir
from tests.commerce.selling_kit import CLOSES, G1, G2, OPENS, build_shop, campaign_text
from tests.fakes import FakeClock


def with_poster(settings: str, **campaign: int) -> str:
    return campaign_text(**campaign) + f"poster:\n{settings}\n"


async def test_the_close_sends_one_poster_to_each_group_even_when_run_twice(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2", "alice")
    await shop.say("A2 5", "bob", group=G2)  # A2 (stock 5) sells out
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.registry.run_node("t1", "close")  # a second run (a retried job) claims nothing
    await shop.drain()
    one, two = shop.transport.images(G1), shop.transport.images(G2)
    assert len(one) == 1 and len(two) == 1
    assert one == two and one[0].parent == posters_dir(shop.app.services.config)  # drawn once, for both
    with Image.open(one[0]) as picture:
        assert picture.format == "PNG" and picture.width == 1080
    sent_g1 = [m for m in shop.transport.sent if m.group_id == G1]
    last_close_post = max(i for i, m in enumerate(sent_g1) if m.kind in ("close", "thanks", "preview"))
    assert sent_g1[last_close_post + 1].kind == IMAGE_KIND  # right after the close's own posts
    rows = [r for r in shop.app.services.outbox.store.all_rows() if r.kind == IMAGE_KIND]
    assert sorted((r.group_id, r.status, r.priority) for r in rows) == [
        (G1, "sent", POSTER_PRIORITY),
        (G2, "sent", POSTER_PRIORITY),
    ]


async def test_a_leaders_early_close_and_the_scheduled_close_send_one_poster_each_group(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 1", "alice")
    clock.set(CLOSES - timedelta(minutes=30))
    await shop.say("/close", "lily")  # 团购一群 closes early, with its poster
    await shop.say("/close", "lily")  # already closed: nothing more
    assert len(shop.transport.images(G1)) == 1 and shop.transport.images(G2) == []
    await shop.say("A1 3", "bob", group=G2)
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    assert len(shop.transport.images(G1)) == 1 and len(shop.transport.images(G2)) == 1
    # The later poster counts bob's order too: drawn again for the scheduled close, not reused.
    assert shop.transport.images(G1) != shop.transport.images(G2)


async def test_a_poster_queued_before_a_restart_is_sent_once_after_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2", "alice")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")  # committed and queued, then the process dies unsent
    assert shop.transport.images() == []
    after = build_shop(tmp_path, clock)  # a new process on the same database
    await after.drain()
    await after.registry.run_node("t1", "close")  # the schedule runs the close again on start
    await after.drain()
    assert len(after.transport.images(G1)) == 1 and len(after.transport.images(G2)) == 1
    again = build_shop(tmp_path, clock)
    await again.drain()
    assert again.transport.images() == []


async def test_no_buyer_no_poster_and_a_campaign_may_turn_it_off(tmp_path: Path, clock: FakeClock) -> None:
    shop = build_shop(tmp_path / "quiet", clock)
    await shop.open()
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    assert shop.transport.images() == []  # "0 人下单" is no news, in words or in a picture

    clock.set(OPENS - timedelta(hours=1))
    off = build_shop(tmp_path / "off", clock, text=with_poster("  enabled: false"))
    await off.open()
    await off.say("A1 2", "alice")
    clock.set(CLOSES)
    await off.registry.run_node("t1", "close")
    await off.drain()
    assert off.transport.images() == []
    assert any("战绩" in t for t in off.texts(G1))  # the results post itself is unchanged


async def test_a_poster_that_fails_to_draw_never_fails_the_close(
    tmp_path: Path, clock: FakeClock, monkeypatch: object
) -> None:
    import handlers.poster.closing as closing

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("font missing")

    monkeypatch.setattr(closing, "render_poster", broken)  # type: ignore[attr-defined]
    shop = build_shop(tmp_path, clock)
    await shop.open()
    await shop.say("A1 2", "alice")
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    assert shop.transport.images() == []
    assert any("已结团" in t for t in shop.texts(G1)) and shop.sell.status("t1", G1) == "closed"


async def test_units_mode_shows_no_money_on_the_poster(tmp_path: Path, clock: FakeClock) -> None:
    from handlers.poster import poster_facts, render_poster

    shop = build_shop(tmp_path, clock, text=with_poster("  show: units\n  thanks: 谢谢大家，周五见"))
    await shop.open()
    await shop.say("A1 2", "alice")
    await shop.say("A2 1", "bob", group=G2)
    clock.set(CLOSES)
    await shop.registry.run_node("t1", "close")
    await shop.drain()
    facts = poster_facts(shop.app.services, "t1")
    assert (facts.show, facts.units, facts.closed, facts.thanks) == ("units", 3, True, "谢谢大家，周五见")
    texts = [b.text for b in render_poster(facts).boxes]
    assert "3 件" in texts and not any("¥" in t for t in texts)
    assert "谢谢大家，周五见" in texts
    [path] = shop.transport.images(G1)
    assert Image.open(io.BytesIO(path.read_bytes())).size[0] == 1080
