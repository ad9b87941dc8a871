"""The local chat simulator: type group chat in a terminal, or pipe it in.

Line syntax (documented in the README):

    alice@团购一群: 你好            alice says 你好 in group 团购一群
    alice(张三)@团购一群: 你好      the same, with display name 张三
    +bob@团购一群                   bob joins; `+bob,carol@团购一群 by alice` with inviter
    -bob@团购一群                   bob leaves
    alice: 你好                     alice writes to the bot privately
    :sleep 5                        wait 5 seconds of bot time (for scripts)
    # comment                       ignored; so are blank lines

What members post besides text, in a group line (the message's `kind`):

    alice@团购一群: [链接] 标题 https://…    a link card (kind "link")
    alice@团购一群: [小程序] 某某商城          a mini-program card ("mini_program")
    alice@团购一群: [名片] 某某               a contact card ("contact_card")
    alice@团购一群: [图片]                    a picture ("image"); [二维码] a QR-code picture ("qr_image")

Ids are what you type before `(` or `@`; a display name is only a name.
`@someone` inside a message mentions the member with id `someone`.

A picture the bot sends (a results poster) stays where the bot wrote it, and the
simulator prints its path as `[图片] data/posters/….png`, so it can be opened.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from loguru import logger

from bot.clock import Clock, SystemClock
from bot.events import Event, GroupMessage, Member, MemberJoined, MemberLeft, Outgoing, PrivateMessage
from bot.transports.base import EventSink, SendError

_WHO = r"(?P<id>[^\s@():：,，#+\-][^\s@():：,，]*)(?:[(（](?P<name>[^)）]*)[)）])?"
SAY_RE = re.compile(rf"^{_WHO}@(?P<group>[^:：]+?)\s*[:：]\s?(?P<text>.*)$", re.DOTALL)
PRIVATE_RE = re.compile(rf"^{_WHO}\s*[:：]\s?(?P<text>.*)$", re.DOTALL)
JOIN_RE = re.compile(r"^(?P<sign>[+-])(?P<ids>[^@]+)@(?P<group>\S+?)(?:\s+by\s+(?P<inviter>\S+))?\s*$")
SLEEP_RE = re.compile(r"^:sleep\s+(?P<seconds>\d+(?:\.\d+)?)\s*$")
MENTION_RE = re.compile(r"@(\S+)")
# `[链接] …` at the start of a group line: what was posted, when it is not typed text.
KIND_TAGS = {
    "链接": "link",
    "link": "link",
    "小程序": "mini_program",
    "mini": "mini_program",
    "名片": "contact_card",
    "card": "contact_card",
    "图片": "image",
    "image": "image",
    "二维码": "qr_image",
    "qr": "qr_image",
}
# How a transcript or the terminal shows a kind (the first tag of each).
KIND_LABELS = {kind: f"[{tag}]" for tag, kind in reversed(list(KIND_TAGS.items()))}
KIND_RE = re.compile(r"^\s*[\[【](?P<tag>[^\]】]+)[\]】]\s*(?P<rest>.*)$", re.DOTALL)


def split_kind(text: str) -> tuple[str, str]:
    """(kind, text) of a group line's text: `[链接] 标题 https://…` -> ("link", "标题 https://…")."""
    match = KIND_RE.match(text)
    kind = KIND_TAGS.get(match.group("tag").strip().lower()) if match else None
    if match is None or kind is None:
        return "text", text
    return kind, match.group("rest").strip()


def shown_path(path: Path) -> str:
    """A file's path as the operator typed their way there: relative to the working folder
    when it lies under it (`data/posters/x.png`), else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def shown(kind: str, text: str) -> str:
    """A message as the simulator's syntax writes it: `[链接] 标题 https://…` for a link."""
    label = KIND_LABELS.get(kind, "")
    return f"{label} {text}".strip() if label else text


class SimulatorSyntaxError(ValueError):
    """A line the simulator cannot read; the message says the accepted forms."""


HELP_TEXT = (
    "simulator: could not read that line. Forms: 'alice@团购一群: 你好', 'alice(张三)@团购一群: 你好', "
    "'+bob@团购一群', '+bob@团购一群 by alice', '-bob@团购一群', 'alice: 你好' (private), ':sleep 5'; "
    "in a group: '[链接] 标题 https://…', '[小程序] 名称', '[名片] 某某', '[图片]', '[二维码]'"
)


@dataclass
class ParsedLine:
    event: Event | None = None
    sleep: float = 0.0


class LineParser:
    """Turns simulator lines into events; keeps display names per member id."""

    def __init__(self, clock: Clock, bot_names: set[str]) -> None:
        self.clock = clock
        self.bot_names = bot_names
        self.names: dict[str, str] = {}
        # Ids must not collide with an earlier run's, which the inbound log remembers.
        self._run = uuid.uuid4().hex[:8]
        self._counter = itertools.count(1)

    def _next_id(self) -> str:
        return f"sim-{self._run}-{next(self._counter)}"

    def _member(self, member_id: str, name: str | None) -> Member:
        if name:
            self.names[member_id] = name
        return Member(id=member_id, name=self.names.get(member_id, member_id))

    def parse(self, line: str) -> ParsedLine:
        line = line.rstrip("\r\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return ParsedLine()
        if sleep := SLEEP_RE.match(stripped):
            return ParsedLine(sleep=float(sleep.group("seconds")))
        now = self.clock.now()
        if join := JOIN_RE.match(stripped):
            ids = [i.strip() for i in re.split(r"[,，]", join.group("ids")) if i.strip()]
            members = tuple(self._member(*self._split_name(i)) for i in ids)
            group = join.group("group")
            n = self._next_id()
            if join.group("sign") == "+":
                inviter = self._member(join.group("inviter"), None) if join.group("inviter") else None
                return ParsedLine(
                    MemberJoined(
                        group_id=group,
                        members=members,
                        time=now,
                        inviter=inviter,
                        group_name=group,
                        event_id=f"{n}-join",
                    )
                )
            return ParsedLine(
                MemberLeft(group_id=group, members=members, time=now, group_name=group, event_id=f"{n}-leave")
            )
        if say := SAY_RE.match(stripped):
            kind, text = split_kind(say.group("text"))
            mentions = tuple(m for m in MENTION_RE.findall(text) if m not in self.bot_names)
            return ParsedLine(
                GroupMessage(
                    message_id=self._next_id(),
                    group_id=say.group("group").strip(),
                    sender=self._member(say.group("id"), say.group("name")),
                    text=text,
                    time=now,
                    mentions=mentions,
                    group_name=say.group("group").strip(),
                    mentions_bot=any(f"@{n}" in text for n in self.bot_names),
                    kind=kind,
                )
            )
        if private := PRIVATE_RE.match(stripped):
            return ParsedLine(
                PrivateMessage(
                    message_id=self._next_id(),
                    sender=self._member(private.group("id"), private.group("name")),
                    text=private.group("text"),
                    time=now,
                )
            )
        raise SimulatorSyntaxError(HELP_TEXT)

    @staticmethod
    def _split_name(token: str) -> tuple[str, str | None]:
        match = re.match(r"^([^(（]+)(?:[(（]([^)）]*)[)）])?$", token)
        if match is None:
            return token, None
        return match.group(1), match.group(2)


class SimulatorTransport:
    """Reads simulator lines from a stream (stdin by default) and prints what the bot sends."""

    name = "simulator"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        bot_name: str = "团购小助手",
        bot_id: str = "tuanbot",
        timezone: str = "Asia/Shanghai",
        stream: TextIO | None = None,
        out: Callable[[str], None] | None = None,
        prompt: bool | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.bot_name = bot_name
        self.tz = ZoneInfo(timezone)
        self.parser = LineParser(self.clock, {bot_name, bot_id})
        self.stream = stream if stream is not None else sys.stdin
        self.out = out or (lambda text: print(text, flush=True))
        self.prompt = self.stream.isatty() if prompt is None else prompt
        self.sent: list[Outgoing] = []
        self.images: list[Path] = []  # every picture sent, in order (also in `sent`)
        self.removed: list[tuple[str, str]] = []  # (group id, member id) of every removal
        self._stopping = False
        # Read bytes and decode them here when we can: a text stream raises on invalid UTF-8
        # and the line is lost; decoded with a replacement, the line still reaches the bot.
        self._raw = getattr(self.stream, "buffer", None)
        self._warned_encoding = False

    async def start(self, sink: EventSink) -> None:
        if self.prompt:
            self.out("tuanbot simulator — type lines like 'alice@团购一群: /help'; Ctrl-D to quit.")
        while not self._stopping:
            line = await asyncio.to_thread(self._readline)
            if line == "":
                return
            try:
                parsed = self.parser.parse(line)
            except SimulatorSyntaxError as exc:
                self.out(str(exc))
                continue
            if parsed.sleep:
                await self.clock.sleep(parsed.sleep)
            if parsed.event is not None:
                await sink(parsed.event)

    def _readline(self) -> str:
        """One line of input; undecodable bytes become U+FFFD (and the operator is told once)."""
        if self._raw is None:
            return self.stream.readline()
        raw: bytes = self._raw.readline()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            if not self._warned_encoding:
                self._warned_encoding = True
                logger.warning("simulator: input is not valid UTF-8; undecodable bytes are read as \ufffd")
            return raw.decode("utf-8", errors="replace")

    async def send(self, message: Outgoing) -> None:
        if message.is_image:
            self._send_image(message)
            return
        self.sent.append(message)
        local = self.clock.now().astimezone(self.tz).strftime("%H:%M:%S")
        where = f"[{message.group_id}]" if message.group_id else f"[私聊 → {message.member_id}]"
        # As the wechaty adapter sends it: a member the text already names is not prefixed again.
        names = {m: self.parser.names.get(m, m) for m in message.mentions}
        text = message.text
        mention = "".join(f"@{m} " for m, n in names.items() if f"@{m}" not in text and f"@{n}" not in text)
        self.out(f"{local} {where} {self.bot_name}: {mention}{message.text}")

    def _send_image(self, message: Outgoing) -> None:
        """A picture: its file is kept where the bot wrote it; print the path (`[图片] …`) and
        record it (`sent`, `images`). A file gone by now fails as a network would refuse it."""
        path = Path(message.text)
        if not path.is_file():
            raise SendError(f"simulator: no picture at {path}", retryable=False)
        self.sent.append(message)
        self.images.append(path)
        local = self.clock.now().astimezone(self.tz).strftime("%H:%M:%S")
        where = f"[{message.group_id}]" if message.group_id else f"[私聊 → {message.member_id}]"
        self.out(f"{local} {where} {self.bot_name}: {shown('image', shown_path(path))}")

    async def remove_member(self, group_id: str, member_id: str) -> bool:
        """Record the removal (`removed`) and print it; the simulator can always remove."""
        self.removed.append((group_id, member_id))
        local = self.clock.now().astimezone(self.tz).strftime("%H:%M:%S")
        self.out(f"{local} [{group_id}] ✂ {self.bot_name} 将 {member_id} 移出了群聊")
        return True

    async def stop(self) -> None:
        self._stopping = True
