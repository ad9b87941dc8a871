"""`accounts:`: several WeChat accounts on one database (docs/deploy.md).

WeChat holds one personal account to roughly 30–40 messages a minute, so an opening posted
into 100 groups takes one account minutes; operators run several. Each account is its own
process (`tuanbot run --account ID`) with its own transport and its own send limits, and
serves the groups listed here. A group listed by several accounts has one primary (the first
account, in this order, that lists it); the others stand by and take it over while the
primary's process is gone or logged out.

Tokens never sit in the YAML: `token_env` names the environment variable that holds one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["AccountSettings", "AccountWechaty", "check_accounts"]

ACCOUNT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class AccountWechaty(BaseModel):
    """Where this account's Wechaty puppet service is; the token comes from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = Field(default="", description="host:port of this account's puppet service")
    token_env: str = Field(
        default="", description="name of the environment variable holding this account's token"
    )


class AccountSettings(BaseModel):
    """One WeChat account: its transport and the groups it serves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="letters, digits, - and _; used in `tuanbot run --account ID`")
    transport: Literal["simulator", "wechaty"] = "simulator"
    wechaty: AccountWechaty = Field(default_factory=AccountWechaty)
    groups: list[str] = Field(default_factory=list, description="group ids this account serves")
    tags: list[str] = Field(
        default_factory=list, description="and every group whose groups.<id>.tags has one of these"
    )

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ACCOUNT_ID_RE.match(value):
            raise ValueError(
                f"account id {value!r} must be 1-32 letters, digits, '-' or '_' (it names a process)"
            )
        return value


class _Tagged(Protocol):
    @property
    def tags(self) -> list[str]: ...


def check_accounts(accounts: list[AccountSettings], groups: Mapping[str, _Tagged], *, sqlite: bool) -> None:
    """Refuse an `accounts:` section that could not run as written (ValueError names what to fix)."""
    ids = [a.id for a in accounts]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"accounts: id {', '.join(twice)} is listed twice; each account once")
    tags = {t for g in groups.values() for t in g.tags}
    for account in accounts:
        unknown = [g for g in account.groups if g not in groups]
        if unknown:
            raise ValueError(
                f"accounts: {account.id} serves {', '.join(unknown)}, not under groups:; "
                "add the group there first (ids, not names)"
            )
        missing = [t for t in account.tags if t not in tags]
        if missing:
            raise ValueError(
                f"accounts: {account.id} names tag {', '.join(missing)}, which no group has; "
                "add it to a group's tags or remove it"
            )
        if account.transport == "wechaty" and not account.wechaty.endpoint:
            raise ValueError(
                f"accounts: {account.id} uses wechaty but has no wechaty.endpoint; "
                "give this account's puppet service host:port"
            )
    if len(accounts) > 1 and sqlite:
        raise ValueError(
            "accounts: several accounts need PostgreSQL (database.url or TUANBOT_DATABASE_URL); "
            "SQLite serves one account"
        )
