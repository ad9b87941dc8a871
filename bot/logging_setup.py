"""Loguru set-up, with the standard library's logging (APScheduler, SQLAlchemy) forwarded in.

Per-message logging must cost the event loop no more than a queue put (issue 14). Loguru's
own `enqueue=True` was measured at about 3x the cost of a plain file sink on the caller (it
pickles each record into a multiprocessing pipe), so the file and the console are
`QueuedSink`s: loguru formats the line in the caller, the sink puts the string on a
`queue.SimpleQueue`, and one daemon thread per sink writes it (the file through loguru's
own file sink: same rotation and retention). The lines written for every message skip
loguru altogether (`bot.trace_log`): the caller puts a tuple, the sink's thread formats it.
Lines still queued are written at exit (`atexit`) or by `drain_logs()`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from loguru import logger

from bot import trace_log, trace_render
from bot.trace_log import TraceLine

if TYPE_CHECKING:
    from loguru import Record


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


class QueuedSink:
    """A loguru sink whose cost to the caller is one `SimpleQueue.put`; a thread does the writing.

    It also takes `bot.trace_log` lines (tuples) and formats them in its thread with
    `render`, so they keep their place among the loguru lines.
    """

    def __init__(
        self,
        name: str,
        write: Callable[[str], Any],
        *,
        render: Callable[[TraceLine], str],
        stop: Callable[[], Any] = lambda: None,
        flush: Callable[[], Any] = lambda: None,
    ) -> None:
        self._write, self._render, self._stop, self._flush = write, render, stop, flush
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.put = self._queue.put
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def write(self, message: str) -> None:
        self._queue.put(message)

    def drain(self) -> None:
        """Block until every line queued so far is written."""
        if not self._thread.is_alive():
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._stop()

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            time.sleep(LOG_LINGER_SECONDS)  # gather lines: one wake-up per few ms, not one per line
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            lines: list[str] = []  # written as one chunk: one rotation check per batch, not per line
            for item in items:
                if item is None or isinstance(item, threading.Event):
                    self._emit(lines)
                    self._flush()
                    if item is None:
                        return
                    item.set()
                    continue
                try:
                    lines.append(self._render(item) if isinstance(item, TraceLine) else item)
                except Exception as exc:  # a line that cannot be formatted is reported, not fatal
                    lines.append(f"log line could not be formatted: {exc!r}\n")
            self._emit(lines)
            self._flush()

    def _emit(self, lines: list[str]) -> None:
        if not lines:
            return
        try:
            self._write("".join(lines))
        except Exception as exc:  # a full disk: the lines are lost, the writer lives on
            (sys.__stderr__ or sys.stderr).write(f"log write failed: {exc}\n")
        lines.clear()


_queued_sinks: list[QueuedSink] = []


def drain_logs() -> None:
    """Write every queued log line now (shutdown, tests that read the log file)."""
    for sink in _queued_sinks:
        sink.drain()


FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}"
CONSOLE_FORMAT = "<green>{time:HH:mm:ss}</green> <level>{level: <7}</level> <cyan>{name}</cyan> {message}"


def _with_ids(head: str) -> Callable[[Record], str]:
    """A loguru format that ends a line with its bound ids as `trace_render.ids` writes them, and
    with nothing for a line bound with none (`{extra}` printed `{}`). Loguru formats the returned
    text again and reads `<…>` in it as colour tags, so the ids' braces and tags are escaped."""

    def fmt(record: Record) -> str:
        tail = trace_render.ids(record["extra"]).replace("{", "{{").replace("}", "}}").replace("<", r"\<")
        return f"{head}{tail}\n{{exception}}"

    return fmt


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
    Both sinks are queued (`QueuedSink`): the caller pays a queue put, a thread writes.
    """
    logger.remove()
    trace_log.clear()
    while _queued_sinks:
        _queued_sinks.pop().close()
    zone = ZoneInfo(timezone) if timezone else None
    logger.configure(patcher=_in_zone(zone) if zone else None)
    if console:
        colour = sys.stderr.isatty()
        shown = QueuedSink(
            "log-console",
            _to_stderr,
            render=lambda line: trace_render.console(line, zone, colour),
            flush=_flush_stderr,
        )
        _queued_sinks.append(shown)
        logger.add(
            shown,
            level=level,
            format=_with_ids(CONSOLE_FORMAT),
            colorize=colour,
            backtrace=False,
            diagnose=False,
        )
        _register_trace(level, shown)
    if file is not None:
        from loguru._file_sink import FileSink  # what `logger.add(path)` uses: rotation, retention

        file.parent.mkdir(parents=True, exist_ok=True)
        target = FileSink(str(file), rotation="20 MB", retention=10, delay=True)
        render = trace_render.json_line if serialize else trace_render.file_line
        sink = QueuedSink(
            "log-writer", target.write, render=lambda line: render(line, zone), stop=target.stop
        )
        _queued_sinks.append(sink)
        logger.add(sink, level="DEBUG", serialize=serialize, format=_with_ids(FILE_FORMAT), colorize=False)
        _register_trace("DEBUG", sink)
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.INFO, force=True)
    for noisy in ("apscheduler", "sqlalchemy", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level != "DEBUG" else logging.INFO)


def _to_stderr(text: str) -> None:
    sys.stderr.write(text)  # looked up per line: whatever stderr is now (tests swap it)


def _flush_stderr() -> None:
    with contextlib.suppress(Exception):  # a closed or swapped stream: nothing left to flush
        sys.stderr.flush()


def _register_trace(level: str, sink: QueuedSink) -> None:
    trace_log.register(logger.level(level).no, sink.put)


def _in_zone(zone: ZoneInfo) -> Any:
    def patch(record: Any) -> None:
        record["time"] = record["time"].astimezone(zone)

    return patch
