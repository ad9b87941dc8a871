"""Wording slips in posts, found walking the docs as an operator (session 38)."""

from __future__ import annotations

from bot.templates import Renderer


def test_a_leader_named_with_团长_is_not_called_团长团长() -> None:
    renderer = Renderer()
    post = renderer.render(
        "broadcast/post.j2", group_name="团购一群", members=3, leader_name="莉莉团长", text="hi", code="B1"
    )
    assert "莉莉团长为大家带来消息" in post and "团长团长" not in post
    plain = renderer.render(
        "broadcast/post.j2", group_name="团购一群", members=3, leader_name="莉莉", text="hi", code="B1"
    )
    assert "莉莉团长为大家带来消息" in plain


def test_a_refused_broadcast_sent_privately_names_no_empty_group() -> None:
    text = Renderer().render("compliance/adlaw_refused.j2", group_name="", what="群发", hits=[])
    assert "「」" not in text and text.startswith("⚠️ 群发没有保存")
