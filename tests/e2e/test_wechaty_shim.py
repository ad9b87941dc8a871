"""The Python 3.11 shim for `wechaty` 0.10.7: fails if it stops being needed or stops working."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip(
    "wechaty_puppet", reason="the `wechaty` extra is not installed (pip install -e '.[wechaty]')"
)

REPO = Path(__file__).resolve().parents[2]


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter: the shim patches a class for the life of the process.
    env = {k: v for k, v in os.environ.items() if k not in {"CACHE_DIR", "WECHATY_LOG"}}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_import_without_shim_still_fails(tmp_path: Path) -> None:
    result = _run("import wechaty", tmp_path)
    assert result.returncode != 0, (
        "`import wechaty` works without the shim now: remove apply_py311_shim() from "
        "bot/transports/wechaty_adapter.py (and this test)"
    )
    assert "ValueError: mutable default" in result.stderr
    assert "PuppetOptions" in result.stderr


def test_adapter_shim_makes_import_work(tmp_path: Path) -> None:
    result = _run(
        """
        import wechaty_puppet.schemas.puppet as schema
        from bot.transports.wechaty_adapter import _load_sdk, apply_py311_shim

        sdk = _load_sdk()
        import wechaty

        assert sdk.Wechaty is wechaty.Wechaty
        assert schema.PuppetOptions.__hash__ is object.__hash__
        assert apply_py311_shim(schema) is False  # idempotent
        options = sdk.WechatyOptions(endpoint="127.0.0.1:1", token="t", port=1)
        assert options.puppet_options is not None
        print("ok")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
    assert not (tmp_path / ".wechaty").exists(), (
        "the adapter should point the SDK's CACHE_DIR away from the cwd"
    )


def test_importing_the_adapter_has_no_sdk_side_effects(tmp_path: Path) -> None:
    result = _run(
        """
        import sys
        import bot.transports.wechaty_adapter
        assert "wechaty" not in sys.modules, "the SDK must only load when a WechatyTransport is built"
        print("ok")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
