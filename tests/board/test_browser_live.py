"""The board in a real headless Chromium during a rehearsal-driven sale (issue 19, acceptance 1).

A leader opens the link `/board` sends, on a phone-sized screen, before the sale opens; the
rehearsal then places the scenario's orders. Without any reload, the page's GMV rises and the
stock bars fall; no page scrolls sideways at phone width. Screenshots go to
`test-output/board/<test>/` (see `browser_kit.output_folder`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.board.browser_kit import (
    CHROMIUM_ARGS,
    MISSING,
    chromium,
    leader_link,
    output_folder,
    rehearsal_with_board,
)

CAMPAIGN = "fruit-2026-12"
PHONE = {"width": 375, "height": 812}  # an iPhone-sized screen, the width WeChat's browser uses


@pytest.fixture
def browser() -> Iterator[Any]:
    path = chromium()
    if path is None:
        pytest.skip(MISSING)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _sideways_scroll(page: Any) -> int:
    """How many pixels the page is wider than the screen (0: no horizontal scroll)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def _figures(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => ({
                gmv: Number(document.querySelector('[data-figure="gmv"]').dataset.value),
                sold: [...document.querySelectorAll('[data-stock]')]
                    .reduce((n, el) => n + Number(el.dataset.sold || 0), 0),
                seq: Number(document.body.dataset.liveSeq || 0),
                marker: window.__sameDocument === true,
            })"""
        )
    )


def test_live_page_follows_a_rehearsed_sale_without_reload(
    browser: Any, tmp_path: Path, request: Any
) -> None:
    shots = output_folder(request.node.name)
    with rehearsal_with_board(tmp_path) as base:
        page = browser.new_page(viewport=PHONE, device_scale_factor=2)
        page.goto(leader_link(base, "lily"))
        page.goto(f"{base}/c/{CAMPAIGN}")
        page.wait_for_selector('[data-figure="gmv"]')
        page.evaluate("window.__sameDocument = true")  # survives only if the page never reloads
        before = _figures(page)
        page.screenshot(path=str(shots / "1-live-before-orders.png"), full_page=True)
        assert _sideways_scroll(page) == 0

        # The scenario orders from T+5m: at 30x that is well within two minutes of the start.
        page.wait_for_function(
            f"""() => Number(document.querySelector('[data-figure="gmv"]').dataset.value) > {before["gmv"]}
                 && [...document.querySelectorAll('[data-stock]')]
                      .reduce((n, el) => n + Number(el.dataset.sold || 0), 0) > {before["sold"]}""",
            timeout=180_000,
        )
        after = _figures(page)
        page.screenshot(path=str(shots / "2-live-after-orders.png"), full_page=True)
        assert after["marker"], "the live page reloaded instead of updating in place"
        assert after["gmv"] > before["gmv"] and after["sold"] > before["sold"]
        assert after["seq"] > before["seq"], "the figures changed but no live update was counted"
        # The figures on screen are the ones the API serves for this leader.
        api = page.request.get(f"{base}/api/c/{CAMPAIGN}/live").json()
        assert api["figures"]["gmv_cents"] >= after["gmv"]
        assert _sideways_scroll(page) == 0

        for name, path in (("groups", f"/c/{CAMPAIGN}/groups"), ("results", f"/c/{CAMPAIGN}/results")):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(shots / f"3-{name}.png"), full_page=True)
            assert _sideways_scroll(page) == 0, f"the {name} page scrolls sideways at phone width"
