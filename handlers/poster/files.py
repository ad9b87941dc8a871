"""Where posters are written, and how: whole files, named by their content.

A poster is queued as an outbox row that holds the path of its file, so the file must be
complete on disk before the row can be committed: it is written to a temporary name, flushed
to disk and renamed into place. The name carries a digest of the picture, so drawing the same
results again finds the file already there and a half-written file never has a poster's name.
Posters go in `posters/` beside the exports folder: `data/posters/` with the shipped config,
the throw-away folder in a rehearsal.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from bot.config import Config

FOLDER = "posters"


def posters_dir(config: Config) -> Path:
    """The folder posters are written to: `posters/` beside `exports_dir` (data/posters by default)."""
    return config.path(config.exports_dir).resolve().parent / FOLDER


def save_poster(config: Config, campaign_id: str, png: bytes) -> Path:
    """Write `png` (unless the same picture is there already) and return its absolute path."""
    folder = posters_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{campaign_id}-{hashlib.sha256(png).hexdigest()[:12]}.png"
    if path.is_file() and path.stat().st_size == len(png):
        return path
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        handle.write(png)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


__all__ = ["FOLDER", "posters_dir", "save_poster"]
