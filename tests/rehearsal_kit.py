"""Shared by the rehearsal tests: a campaign file with group monitoring off."""

from __future__ import annotations

from pathlib import Path


def quiet_copy(source: Path, folder: Path) -> Path:
    """`source` copied into `folder` with group monitoring off: its every-minute alert checks are
    most of a rehearsal's time, and the tests that use this are not about those alerts."""
    target = folder / source.name
    text = source.read_text(encoding="utf-8") + "\nmonitoring:\n  enabled: false\n"
    target.write_text(text, encoding="utf-8")
    return target
