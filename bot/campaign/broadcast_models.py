"""Campaign-file one-off broadcasts (`broadcasts.messages`, issue 18): a message to groups at a time.

The model only declares and checks the data; the broadcast feature (handlers/broadcast) turns
each message into a scheduled broadcast when the campaign loads, like a chat `/broadcast`.

A target is a group id, `#tag` (every group whose `groups.<id>.tags` in config.yaml has it) or
`all`. Whether an id or tag exists is only known with config.yaml: when the loader passes the
configured groups in the validation context (`context["groups"]`: group id -> its tags), an
unknown one is a problem at its own line; without them (a bare `parse_campaign`) only the
syntax is checked, and the feature checks the rest when it schedules.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from bot.campaign.model_base import _Model
from bot.campaign.time_fields import When
from bot.campaign.values import Text

__all__ = [
    "ALL_TARGETS",
    "MAX_MESSAGES",
    "MAX_MESSAGE_CHARS",
    "BroadcastMessage",
    "Messages",
    "messages_field",
    "no_repeats",
    "target_problem",
]

ALL_TARGETS = frozenset({"all", "全部", "所有群"})
TAG_MARKS = ("#", "＃")
MAX_MESSAGES = 50
"""More one-off messages in one campaign file is a copy-paste accident, not a plan."""
MAX_MESSAGE_CHARS = 1000
"""A group post longer than this is cut by WeChat clients and unread by members."""


def target_problem(word: str, groups: Mapping[str, Collection[str]]) -> str | None:
    """Why `word` names no configured group (None when it names at least one).

    `groups`: every configured group id with its tags. Shared by the model (when the loader
    gives the configured groups) and the feature (which always has them).
    """
    if word.lower() in ALL_TARGETS:
        return None if groups else "no groups are configured in config.yaml"
    if word.startswith(TAG_MARKS):
        tag = word[1:]
        tags = sorted({t for settings in groups.values() for t in settings})
        if any(tag in settings for settings in groups.values()):
            return None
        close = difflib.get_close_matches(tag, tags, n=1, cutoff=0.6)
        hint = f"; did you mean '#{close[0]}'?" if close else (f"; tags: {', '.join(tags)}" if tags else "")
        return f"no group in config.yaml has the tag '{tag}'{hint}"
    if word in groups:
        return None
    close = difflib.get_close_matches(word, sorted(groups), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else "; use a group id from config.yaml, '#tag' or all"
    return f"unknown group '{word}'{hint}"


def _targets(value: object) -> object:
    """`to: all` or `to: 团购一群` as a one-item list; an empty `to:` gets the YAML hint."""
    if value is None:
        raise PydanticCustomError(
            "targets",
            "set the groups: a list of group ids, '#tag' or all; "
            'quote tags ("#fruit"): in YAML an unquoted # starts a comment',
        )
    return [value] if isinstance(value, str) else value


def _target(word: str, info: ValidationInfo) -> str:
    """One target: its syntax always; whether it exists when the loader passed the groups."""
    word = word.strip()
    if not word:
        raise PydanticCustomError("targets", "empty target; use a group id, '#tag' or all")
    if word in TAG_MARKS:
        raise PydanticCustomError("targets", "'#' needs a tag after it, e.g. \"#fruit\"")
    groups = (info.context or {}).get("groups")
    if isinstance(groups, Mapping):
        problem = target_problem(word, groups)
        if problem is not None:
            raise PydanticCustomError("targets", problem)
    return word


Target = Annotated[Text, AfterValidator(_target)]
_TARGETS_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        ],
        "examples": [["#fruit", "团购一群"], "all"],
    }
)


class BroadcastMessage(_Model):
    """One message to groups at one time (a one-off 群发), scheduled when the campaign loads."""

    at: When = Field(description="When to send: absolute (2026-12-05 10:00) or relative (T-1d, T+2h, C+1d).")
    to: Annotated[list[Target], BeforeValidator(_targets), _TARGETS_SCHEMA] = Field(
        min_length=1,
        description="Groups: group ids, '#tag' (groups.<id>.tags in config.yaml, quoted) or all.",
    )
    text: Text = Field(
        max_length=MAX_MESSAGE_CHARS,
        description="The message; each group's copy gets its salutation and its own reply code or link.",
    )

    @field_validator("text", mode="after")
    @classmethod
    def _words(cls, text: str) -> str:
        if not text.strip():
            raise PydanticCustomError("empty_text", "the message is empty; write what to send")
        return text

    @field_validator("to", mode="after")
    @classmethod
    def _once(cls, words: list[str]) -> list[str]:
        twice = [w for i, w in enumerate(words) if w in words[:i]]
        if twice:
            raise PydanticCustomError("targets", "'{word}' is listed twice", {"word": twice[0]})
        return words


def messages_field() -> Any:
    """The `broadcasts.messages` field (declared here so the section's model stays short)."""
    return Field(
        default_factory=list,
        max_length=MAX_MESSAGES,
        description="One-off messages to groups by id or #tag at a set time (定时群发).",
    )


def no_repeats(messages: list[BroadcastMessage]) -> list[BroadcastMessage]:
    """Two identical messages would be one broadcast: say so rather than drop one silently."""
    for i, message in enumerate(messages):
        for j in range(i):
            if messages[j] == message:
                raise PydanticCustomError(
                    "duplicate_message",
                    "messages[{j}] and messages[{i}] are the same message; keep one",
                    {"i": i, "j": j},
                )
    return messages


Messages = Annotated[list[BroadcastMessage], AfterValidator(no_repeats)]
"""The `broadcasts.messages` list: each message once."""
