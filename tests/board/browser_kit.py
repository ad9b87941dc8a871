"""Real-browser plumbing for the board tests: Debian's Chromium found on the machine, driven by
Playwright (the Python package brings its driver; the browser is the system's, never downloaded),
a rehearsal of the sample campaign with the board on, and a folder for the screenshots."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Without the background-networking switches Chromium keeps dialling Google on this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    "no Chromium found (looked for $TUANBOT_CHROMIUM, chromium, chromium-browser, google-chrome): "
    "the board's browser tests did not run. Install it with `apt-get install chromium fonts-noto-cjk` "
    "(.ci/browser does this in CI)"
)
ADMIN_TOKEN = "browser-test-admin"
SECRET = "browser-test-secret"


def chromium() -> str | None:
    """The system Chromium's path, or None."""
    named = os.environ.get("TUANBOT_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def output_folder(test_name: str) -> Path:
    """Where a browser test leaves its screenshots: `test-output/board/<test>/` (git-ignored), or
    under $TUANBOT_TEST_OUTPUT."""
    root = Path(os.environ.get("TUANBOT_TEST_OUTPUT") or REPO / "test-output")
    folder = root / "board" / re.sub(r"[^\w.-]+", "_", test_name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def board_env(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "TUANBOT_WEB_ENABLED": "true",
        "TUANBOT_WEB_PORT": str(port),
        "TUANBOT_ADMIN_TOKEN": ADMIN_TOKEN,
        "TUANBOT_WEB_SECRET": SECRET,
    }


def wait_healthy(base: str, process: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the rehearsal ended (exit {process.returncode}) before the board answered")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as answer:
                if answer.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the board at {base} did not answer /healthz within {seconds:.0f} s")


@contextmanager
def rehearsal_with_board(workdir: Path, speed: float = 30.0) -> Iterator[str]:
    """`tuanbot rehearse` of the sample campaign and scenario with the board on a free port;
    yields the board's base URL and stops the rehearsal on the way out."""
    port = free_port()
    log = (workdir / "rehearsal.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "rehearse",
            "data/campaigns/sample.yaml",
            "--scenario",
            "data/scenarios/sample.yaml",
            "--speed",
            str(speed),
        ],
        cwd=REPO,
        env=board_env(port),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def leader_link(port_base: str, member: str) -> str:
    """The link `/board` would send `member`, made by `tuanbot web --link` with the same secret."""
    port = port_base.rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "web", "--link", member, "--port", port],
        cwd=REPO,
        env=board_env(int(port)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = re.search(r"https?://\S+/l/\S+", done.stdout)
    assert found, f"no link in `tuanbot web --link` output: {done.stdout!r} {done.stderr!r}"
    return found.group(0)
