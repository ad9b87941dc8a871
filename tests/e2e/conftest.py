"""End-to-end fixtures: a real Wechaty puppet service (npm) driven over JSON lines.

`MockService` starts `tests/e2e/mock_service.js` (PuppetServer + wechaty-puppet-mock),
creates contacts/rooms, makes contacts speak or join, and records every message
the bot says (`bot_said`). It is thread-based and loop-agnostic, so any test
(including a full-bot scenario) can use it; waits are bounded by timeouts.

    service = MockService.launch()            # npm ci if needed, free port, waits for "ready"
    service.create_contact("c1", "Alice"); service.create_room("r1@chatroom", "团购群", ["bot", "c1"])
    service.login("bot")
    transport = WechatyTransport(service.endpoint, service.token)
    service.say("c1", "/help", room_id="r1@chatroom")
    said = await service.await_bot_said(lambda s: s["room"] == "r1@chatroom", timeout=5)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

E2E_DIR = Path(__file__).resolve().parent
DRIVER = E2E_DIR / "mock_service.js"
NPM_CI_TIMEOUT = 300.0

BotSaid = dict[str, Any]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_node_modules(driver_dir: Path = E2E_DIR) -> None:
    """Install the driver's npm packages from the lock file (`npm ci`) once.

    `make test` runs files on several workers, and each worker's first e2e test gets here: an
    exclusive lock on a file beside the driver makes the others wait for the first install and
    then find it done (two `npm ci` runs into one node_modules leave it broken).

    Skips the calling test only when node/npm are not installed at all; any
    other failure (network, lock file) is an error, not a skip.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("end-to-end wechaty tests need `node` and `npm` (Node 20) on PATH")
    marker = driver_dir / "node_modules" / "wechaty-puppet-service" / "package.json"
    with open(driver_dir / ".npm-ci.lock", "w") as lock:  # the marker appears before the install ends
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=driver_dir,
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"npm ci failed in {driver_dir}:\n{result.stdout}\n{result.stderr}")


class MockServiceError(RuntimeError):
    """The driver answered a command with an error, or did not answer in time."""


class MockService:
    """Controls one `mock_service.js` process; remembers its state so `restart()` can replay it."""

    def __init__(self, port: int | None = None, token: str | None = None, *, log_level: str = "warn") -> None:
        self.port = port or free_port()
        self.token = token or f"tuanbot-e2e-{os.getpid()}-{self.port}"
        self.log_level = log_level
        self.contacts: dict[str, str] = {}
        self.rooms: dict[str, dict[str, Any]] = {}
        self.bot_id = ""
        self.bot_said: list[BotSaid] = []
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._responses: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._stderr_lines: list[str] = []

    @classmethod
    def launch(
        cls, port: int | None = None, token: str | None = None, *, timeout: float = 30.0
    ) -> MockService:
        ensure_node_modules()
        service = cls(port, token)
        service.start(timeout=timeout)
        return service

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------------ process

    def start(self, *, timeout: float = 30.0) -> None:
        """Start the process and wait for its `ready` line (the gRPC port is listening)."""
        if self.running:
            raise MockServiceError("already running")
        env = {
            **os.environ,
            "WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_SERVER": "true",
            "WECHATY_LOG": self.log_level,
        }
        self._proc = subprocess.Popen(
            ["node", str(DRIVER), "--port", str(self.port), "--token", self.token, "--host", "127.0.0.1"],
            cwd=E2E_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=env,
        )
        ready_index = len(self.events)
        self._reader = threading.Thread(target=self._read_stdout, args=(self._proc,), daemon=True)
        self._reader.start()
        threading.Thread(target=self._read_stderr, args=(self._proc,), daemon=True).start()
        self._wait(
            lambda: any(e.get("event") == "ready" for e in self.events[ready_index:]) or not self.running,
            timeout,
            "driver ready",
        )
        if not self.running:
            raise MockServiceError(f"driver exited: {self.stderr_tail()}")

    def stop(self, *, kill: bool = True, timeout: float = 10.0) -> None:
        """Stop the service: SIGKILL by default (a crash), else a graceful shutdown."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            if kill:
                proc.kill()
            else:
                with contextlib.suppress(MockServiceError, OSError):
                    self.call("shutdown", timeout=timeout)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()
        self._proc = None

    def pause(self) -> None:
        """SIGSTOP: the service hangs with its connections open (nothing answers)."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    def restart(self, *, timeout: float = 30.0) -> None:
        """Start again on the same port and token and replay contacts, rooms and the login."""
        self.stop()
        self.start(timeout=timeout)
        for contact_id, name in self.contacts.items():
            self.call("create_contact", contact_id=contact_id, name=name)
        for room_id, room in self.rooms.items():
            self.call("create_room", room_id=room_id, topic=room["topic"], members=list(room["members"]))
        if self.bot_id:
            self.call("login", contact_id=self.bot_id)

    def stderr_tail(self, lines: int = 20) -> str:
        return "\n".join(self._stderr_lines[-lines:])

    def _read_stdout(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            with self._cond:
                if "id" in obj and "event" not in obj:
                    self._responses[obj["id"]] = obj
                else:
                    obj.setdefault("received_at", time.perf_counter())
                    self.events.append(obj)
                    if obj.get("event") == "bot_said":
                        self.bot_said.append(obj)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr_lines.append(line.rstrip())
            del self._stderr_lines[:-200]

    def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout=timeout):
                raise MockServiceError(
                    f"timed out after {timeout}s waiting for {what}; stderr:\n{self.stderr_tail()}"
                )

    # ------------------------------------------------------------------ commands

    def call(self, cmd: str, *, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        """Send one command and wait for its answer."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            raise MockServiceError(f"driver is not running (cmd {cmd})")
        request_id = next(self._ids)
        proc.stdin.write(json.dumps({"id": request_id, "cmd": cmd, **args}, ensure_ascii=False) + "\n")
        proc.stdin.flush()
        self._wait(lambda: request_id in self._responses or not self.running, timeout, f"answer to {cmd}")
        with self._cond:
            response = self._responses.pop(request_id, None)
        if response is None:
            raise MockServiceError(f"driver exited during {cmd}: {self.stderr_tail()}")
        if not response.get("ok"):
            raise MockServiceError(f"{cmd} failed: {response.get('error')}")
        result: dict[str, Any] = response.get("result") or {}
        return result

    def create_contact(self, contact_id: str, name: str) -> str:
        self.call("create_contact", contact_id=contact_id, name=name)
        self.contacts[contact_id] = name
        return contact_id

    def create_room(self, room_id: str, topic: str, members: list[str]) -> str:
        """Room ids must contain "@" (the mock decides room vs contact by it)."""
        self.call("create_room", room_id=room_id, topic=topic, members=list(members))
        self.rooms[room_id] = {"topic": topic, "members": list(members)}
        return room_id

    def login(self, contact_id: str) -> None:
        self.call("login", contact_id=contact_id)
        self.bot_id = contact_id

    def say(
        self,
        contact_id: str,
        text: str,
        *,
        room_id: str = "",
        to_contact_id: str = "",
        mentions: list[str] | None = None,
    ) -> str:
        """A contact says `text` in a room (or privately to `to_contact_id`); returns the message id."""
        result = self.call(
            "say",
            contact_id=contact_id,
            room_id=room_id or None,
            to_contact_id=to_contact_id or None,
            text=text,
            mentions=list(mentions or []),
        )
        return str(result["message_id"])

    def add_member(self, room_id: str, contact_ids: list[str], inviter_id: str) -> None:
        """Members join a room, invited by `inviter_id` (emits room-join)."""
        self.call("add_member", room_id=room_id, contact_ids=list(contact_ids), inviter_id=inviter_id)
        self.rooms[room_id]["members"].extend(contact_ids)

    def remove_member(self, room_id: str, contact_ids: list[str], remover_id: str) -> None:
        self.call("remove_member", room_id=room_id, contact_ids=list(contact_ids), remover_id=remover_id)
        members = self.rooms[room_id]["members"]
        self.rooms[room_id]["members"] = [m for m in members if m not in contact_ids]

    def set_topic(self, room_id: str, topic: str, changer_id: str) -> None:
        self.call("topic", room_id=room_id, topic=topic, changer_id=changer_id)
        self.rooms[room_id]["topic"] = topic

    # ------------------------------------------------------------------ observing the bot

    def wait_bot_said(
        self, predicate: Callable[[BotSaid], bool] = lambda _: True, timeout: float = 10.0, *, start: int = 0
    ) -> BotSaid:
        """The first `bot_said` record (from index `start`) matching `predicate`; blocks up to `timeout`."""
        found: list[BotSaid] = []

        def match() -> bool:
            found[:] = [s for s in self.bot_said[start:] if predicate(s)][:1]
            return bool(found)

        self._wait(match, timeout, "a matching bot_said")
        return found[0]

    async def await_bot_said(
        self, predicate: Callable[[BotSaid], bool] = lambda _: True, timeout: float = 10.0, *, start: int = 0
    ) -> BotSaid:
        """`wait_bot_said` without blocking the event loop."""
        return await asyncio.to_thread(self.wait_bot_said, predicate, timeout, start=start)

    def said_texts(self, room_id: str = "", *, start: int = 0) -> list[str]:
        with self._cond:
            return [s["text"] for s in self.bot_said[start:] if not room_id or s["room"] == room_id]


@pytest.fixture(scope="session")
def mock_service_factory() -> Iterator[Callable[..., MockService]]:
    """Launch any number of services; all are stopped at the end of the session."""
    services: list[MockService] = []

    def factory(port: int | None = None, token: str | None = None) -> MockService:
        service = MockService.launch(port, token)
        services.append(service)
        return service

    yield factory
    for service in services:
        service.stop(kill=False)
