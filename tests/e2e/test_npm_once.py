"""`make test` runs test files on several workers: the first e2e test on each worker must not run
`npm ci` into the same folder at the same time (two installs into one node_modules corrupt it)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tests.e2e.conftest import ensure_node_modules


def fake_npm(bin_dir: Path, log: Path) -> None:
    """An `npm` that logs each run and takes half a second to write the marker `ci` installs."""
    bin_dir.mkdir()
    for tool in ("node", "npm"):
        script = bin_dir / tool
        script.write_text(
            "#!/bin/sh\n"
            f'echo "$$ $*" >> "{log}"\n'
            "sleep 0.5\n"
            "mkdir -p node_modules/wechaty-puppet-service\n"
            "echo '{}' > node_modules/wechaty-puppet-service/package.json\n",
            encoding="utf-8",
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_workers_starting_together_install_the_node_packages_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "npm.log"
    fake_npm(tmp_path / "bin", log)
    driver_dir = tmp_path / "e2e"
    driver_dir.mkdir()
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            ensure_node_modules(driver_dir)
        except BaseException as exc:  # a skip or a failure in a thread must reach the test
            errors.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(3)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=10)
    assert errors == []
    assert (driver_dir / "node_modules" / "wechaty-puppet-service" / "package.json").exists()
    assert len(log.read_text(encoding="utf-8").splitlines()) == 1, "npm ci ran more than once"
