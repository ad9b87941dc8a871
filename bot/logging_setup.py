"""Loguru set-up, with the standard library's logging (APScheduler, SQLAlchemy) forwarded in."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from loguru import logger


class InterceptHandler(logging.Handler):
    """Send stdlib log records to loguru, keeping the original caller."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = logging.currentframe(), 2
        while frame is not None and frame.f_code.co_filename == logging.__file__:
            frame = frame.f_back  # type: ignore[assignment]
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


CONSOLE_FORMAT = (
    "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> <cyan>{name}</cyan> {message} {extra}"
)


def setup_logging(
    level: str = "INFO",
    file: Path | None = None,
    *,
    console: bool = True,
    serialize: bool = False,
    timezone: str | None = None,
) -> None:
    """Configure loguru once for the process: console on stderr, optional rotating file.

    With `timezone` (the config's `bot.timezone`), every log line is stamped in the same zone as
    the times the bot shows in chat, so one screen never mixes the machine's zone with the bot's.
    """
    logger.remove()
    logger.configure(patcher=_in_zone(ZoneInfo(timezone)) if timezone else None)
    if console:
        logger.add(sys.stderr, level=level, format=CONSOLE_FORMAT, backtrace=False, diagnose=False)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        logger.add(file, level="DEBUG", rotation="20 MB", retention=10, serialize=serialize, enqueue=False)
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.INFO, force=True)
    for noisy in ("apscheduler", "sqlalchemy", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level != "DEBUG" else logging.INFO)


def _in_zone(zone: ZoneInfo) -> Any:
    def patch(record: Any) -> None:
        record["time"] = record["time"].astimezone(zone)

    return patch
