"""A real full disk for tests: a small tmpfs mounted under the test's folder, filled with ballast.

Filling the file system is the honest way to test "disk full": SQLite's WAL must grow on
every commit, so every write fails with SQLITE_FULL exactly as on a full server disk.
Mounting needs root (CI and the dev machines run as root); elsewhere the tests that use
it are skipped with the reason printed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

BALLAST = "ballast.bin"


@contextlib.contextmanager
def small_disk(where: Path, size: str = "8m") -> Iterator[Path]:
    """Mount a tmpfs of `size` at `where` for the duration of the block."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> None:
    """Write ballast until the file system says it is full."""
    chunk = b"\0" * 65536
    try:
        with open(disk / BALLAST, "ab") as out:
            while True:
                out.write(chunk)
                out.flush()
    except OSError as exc:  # full, possibly already before the ballast (the bot's own WAL grew)
        if exc.errno != errno.ENOSPC:
            raise
    with contextlib.suppress(OSError), open(disk / (BALLAST + ".tail"), "ab") as out:
        while True:  # the last few bytes, one at a time
            out.write(b"\0")
            out.flush()


def free(disk: Path) -> None:
    """Remove the ballast: space is back."""
    for name in (BALLAST, BALLAST + ".tail"):
        with contextlib.suppress(FileNotFoundError):
            (disk / name).unlink()
