"""Loguru set-up, with the standard library's logging (APScheduler, SQLAlchemy) forwarded in.

Per-message logging must cost the event loop no more than a queue put (issue 14). Loguru's
own `enqueue=True` was measured at about 3x the cost of a plain file sink on the caller (it
pickles each record into a multiprocessing pipe), so the log file is a `QueuedFileSink`:
loguru formats the line in the caller, the sink puts the string on a `queue.SimpleQueue`,
and one daemon thread writes it through loguru's own file sink (same rotation and
retention). Lines still queued are written at exit (`atexit`) or by `drain_logs()`.
"""

from __future__ import annotations

import atexit
import logging
import queue
import sys
import threading
import time
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


LOG_LINGER_SECONDS = 0.005


class QueuedFileSink:
    """A loguru sink whose cost to the caller is one `SimpleQueue.put`; a thread writes the file."""

    def __init__(self, path: Path, *, rotation: str, retention: int) -> None:
        from loguru._file_sink import FileSink  # what `logger.add(path)` uses: rotation, retention

        self._file = FileSink(str(path), rotation=rotation, retention=retention, delay=True)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def write(self, message: str) -> None:
        self._queue.put(message)

    def drain(self) -> None:
        """Block until every line queued so far is in the file."""
        if not self._thread.is_alive():
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._file.stop()

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            time.sleep(LOG_LINGER_SECONDS)  # gather lines: one wake-up per few ms, not one per line
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            for item in items:
                if item is None:
                    return
                if isinstance(item, threading.Event):
                    item.set()
                    continue
                try:
                    self._file.write(item)
                except Exception as exc:  # a full disk: the line is lost, the writer lives on
                    sys.stderr.write(f"log file write failed: {exc}\n")


_file_sinks: list[QueuedFileSink] = []


def drain_logs() -> None:
    """Write every queued log line now (shutdown, tests that read the log file)."""
    for sink in _file_sinks:
        sink.drain()


FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}"
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
    while _file_sinks:
        _file_sinks.pop().close()
    logger.configure(patcher=_in_zone(ZoneInfo(timezone)) if timezone else None)
    if console:
        logger.add(sys.stderr, level=level, format=CONSOLE_FORMAT, backtrace=False, diagnose=False)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        sink = QueuedFileSink(file, rotation="20 MB", retention=10)
        _file_sinks.append(sink)
        logger.add(sink, level="DEBUG", serialize=serialize, format=FILE_FORMAT, colorize=False)
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.INFO, force=True)
    for noisy in ("apscheduler", "sqlalchemy", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level != "DEBUG" else logging.INFO)


def _in_zone(zone: ZoneInfo) -> Any:
    def patch(record: Any) -> None:
        record["time"] = record["time"].astimezone(zone)

    return patch
