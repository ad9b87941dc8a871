"""A phone watching the board: headless Chromium, logged in as the admin, on a campaign's live page,
which the board refreshes every second by server-sent events. Runs in its own process (the
browser and Playwright's driver never share the measured bot's interpreter) until killed.

    python -m bench.board_viewer BASE_URL CAMPAIGN ADMIN_TOKEN
"""

from __future__ import annotations

import sys
import time

from tests.board.browser_kit import CHROMIUM_ARGS, chromium


def main(argv: list[str]) -> int:
    base, campaign, token = argv
    path = chromium()
    if path is None:
        print("board_viewer: no Chromium found (apt-get install chromium)", file=sys.stderr, flush=True)
        return 3
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 375, "height": 812})
        page.goto(f"{base}/login")
        page.fill("input[name=token]", token)
        page.click("button[type=submit], input[type=submit]")
        page.goto(f"{base}/c/{campaign}")
        page.wait_for_selector('[data-figure="gmv"]')
        print("board_viewer: watching", flush=True)
        seen = -1
        while True:  # until the benchmark kills us; say how many live updates arrived
            time.sleep(5)
            seq = int(page.evaluate("Number(document.body.dataset.liveSeq || 0)"))
            if seq != seen:
                print(f"board_viewer: live updates {seq}", flush=True)
                seen = seq


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
