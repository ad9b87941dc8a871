"""`config.yaml`: validated at start-up, refusing to guess.

A typo in the config of a bot that talks to hundreds of groups is better caught
before it starts than discovered in a group, so every model forbids unknown
keys and `load_config` turns pydantic's errors into one line per key.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.config_accounts import AccountSettings, check_accounts
from bot.config_database import DatabaseSettings
from bot.config_stars import StarSettings
from bot.config_tiers import TierSettings
from bot.yaml_errors import yaml_problem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSettings(_Strict):
    name: str = "团购小助手"
    id: str = "tuanbot"
    timezone: str = "Asia/Shanghai"
    # uvloop (in C: less of the event loop's time per message) where installed; asyncio's own else.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"


class WechatySettings(_Strict):
    endpoint: str = ""
    token: str = ""


class AdlawAllow(_Strict):
    """A word the 广告法 lint lets through here, and why it is true (kept for an audit)."""

    word: str = Field(min_length=1)
    reason: str = Field(min_length=1, description="why the claim is true or allowed here")


class AdlawExtra(_Strict):
    """A word the operator adds to the shipped 广告法 list."""

    word: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    suggest: str = ""


class AdlawSettings(_Strict):
    """Silence (`allow`) or extend (`extra`) the shipped false-advertising word list."""

    allow: list[AdlawAllow] = Field(default_factory=list)
    extra: list[AdlawExtra] = Field(default_factory=list)


class ModerationRules(_Strict):
    """What members may post in a group; leaders and admins are never moderated.

    The top-level `moderation:` holds the defaults; a group's `moderation:` overrides
    only the keys it names (its `banned_words` are added to the defaults').
    """

    enabled: bool = True
    links_per_day: int = Field(
        default=0, ge=0, description="links, cards and 加我微信 a member may post a day"
    )
    flood_messages: int = Field(default=8, ge=2, description="more than this many messages ...")
    flood_seconds: float = Field(default=10.0, gt=0, description="... within this many seconds is a flood")
    repeat_groups: int = Field(default=3, ge=2, description="the same text in this many groups ...")
    repeat_seconds: float = Field(default=600.0, gt=0, description="... within this many seconds is spam")
    mass_mentions: int = Field(default=5, ge=2, description="this many @-mentions in one message is spam")
    banned_words: list[str] = Field(default_factory=list, description="added to the shipped list")
    shipped_words: bool = Field(default=True, description="use the shipped banned-word list")
    strikes_reset_hours: float = Field(default=24.0, gt=0, description="ladder restarts after this")
    auto_kick: bool = Field(default=False, description="remove a member at the top of the ladder unasked")


class ModerationOverride(_Strict):
    """A group's changes to the moderation defaults: only the keys given count."""

    enabled: bool | None = None
    links_per_day: int | None = Field(default=None, ge=0)
    flood_messages: int | None = Field(default=None, ge=2)
    flood_seconds: float | None = Field(default=None, gt=0)
    repeat_groups: int | None = Field(default=None, ge=2)
    repeat_seconds: float | None = Field(default=None, gt=0)
    mass_mentions: int | None = Field(default=None, ge=2)
    banned_words: list[str] = Field(default_factory=list)
    shipped_words: bool | None = None
    strikes_reset_hours: float | None = Field(default=None, gt=0)
    auto_kick: bool | None = None


class OrderGuardSettings(_Strict):
    """When orders look padded (刷单) and the admins are told privately; flagged orders still count."""

    enabled: bool = True
    new_member_minutes: float = Field(default=30.0, gt=0, description="joined this recently before ordering")
    new_silent_orders: int = Field(
        default=3, ge=1, description="flag at this many orders from silent new members"
    )
    cancel_after_broadcast_minutes: float = Field(
        default=15.0, gt=0, description="a cancel this soon after a sales broadcast is suspicious"
    )
    cancel_after_broadcast_orders: int = Field(default=3, ge=1, description="flag at this many such cancels")
    shared_address_members: int = Field(
        default=3, ge=2, description="flag one address in remarks of this many member ids (a couple is 2)"
    )
    check_minutes: float = Field(default=12.0, ge=1, description="check an open campaign this often")


class GroupSettings(_Strict):
    name: str = ""
    leaders: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    moderation: ModerationOverride = Field(default_factory=ModerationOverride)
    adlaw: AdlawSettings = Field(default_factory=AdlawSettings)


class OutboxSettings(_Strict):
    """Send limits. Defaults are what WeChat bot operators report as safe."""

    group_interval_seconds: float = Field(default=3.0, ge=0)
    account_per_minute: int = Field(default=30, ge=1)
    switch_pause_seconds: tuple[float, float] = (1.0, 3.0)
    daily_budget: int = Field(default=3000, ge=1)
    budget_warn_ratio: float = Field(default=0.8, gt=0, le=1)
    frequency_pause_seconds: float = Field(default=60.0, ge=0)
    frequency_slowdown: float = Field(default=2.0, ge=1)
    slowdown_minutes: float = Field(default=10.0, ge=0)

    @field_validator("switch_pause_seconds")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if low < 0 or high < low:
            raise ValueError("must be [min, max] with 0 <= min <= max")
        return value


class MonitoringSettings(_Strict):
    """Bot-health alerts to admins, and the leaders' daily summary."""

    disconnect_alert_minutes: float = Field(default=5.0, gt=0)
    backlog_alert: int = Field(default=200, ge=1)
    daily_summary_at: str = Field(default="21:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class LoggingSettings(_Strict):
    level: Literal["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    file: str = "data/logs/tuanbot.log"
    json_file: bool = False


class SchedulerSettings(_Strict):
    max_workers: int = Field(default=20, ge=1)
    info_grace_seconds: int = Field(default=300, ge=1)
    critical_grace_seconds: int = Field(default=86400, ge=1)
    fanout_chunk_groups: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="groups a timeline node writes per transaction; chat runs between",
    )


class WebSettings(_Strict):
    """The live board (handlers/board): off unless asked for, on loopback unless told otherwise.

    Secrets never need to sit in the YAML: `TUANBOT_ADMIN_TOKEN` and `TUANBOT_WEB_SECRET`
    override `admin_token` and `secret`; with no secret at all the board makes one and keeps
    it under `data/` so leaders' links survive a restart.
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    public_url: str = Field(
        default="", description="base of the links /board sends; default http://host:port"
    )
    admin_token: str = Field(default="", description="admins log in with it; empty: admin pages are closed")
    secret: str = Field(default="", description="signs leaders' links; empty: made once, kept in data/")
    link_minutes: int = Field(default=720, ge=1, description="a /board link works this long")
    refresh_seconds: float = Field(default=1.0, gt=0, description="live pages get new figures this often")


class StreakBonus(_Strict):
    """Extra points on one day of a check-in streak (连续签到奖励)."""

    day: int = Field(ge=2, le=366, description="the streak's day that pays the bonus")
    points: int = Field(ge=1, le=1_000_000, description="points added to that day's check-in")


class PointsSettings(_Strict):
    """Points (积分, docs/growth.md): what 签到 pays; orders' points are set per campaign (`points:`).

    `streak_bonus` is a ladder that starts again after its last day (a 7-day ladder pays day 3 and
    day 7, then day 10 and day 14, …); the streak members are told keeps counting.
    """

    enabled: bool = Field(default=True, description="false: no 签到, no 我的积分, no order points")
    checkin: int = Field(
        default=5, ge=0, le=1_000_000, description="points a 签到 pays once a day; 0: 签到 off"
    )
    streak_bonus: list[StreakBonus] = Field(
        default_factory=lambda: [StreakBonus(day=3, points=5), StreakBonus(day=7, points=20)]
    )
    entries_shown: int = Field(default=10, ge=1, le=50, description="ledger lines 我的积分 lists")

    @model_validator(mode="after")
    def _ladder_in_order(self) -> PointsSettings:
        days = [step.day for step in self.streak_bonus]
        if days != sorted(set(days)):
            shown = ", ".join(str(d) for d in days)
            raise ValueError(f"streak_bonus days must increase, each once (got {shown})")
        return self


class Config(_Strict):
    bot: BotSettings = Field(default_factory=BotSettings)
    transport: Literal["simulator", "wechaty"] = "simulator"
    wechaty: WechatySettings = Field(default_factory=WechatySettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    admins: list[str] = Field(
        description="member ids with admin rights; required so nobody forgets to decide"
    )
    groups: dict[str, GroupSettings] = Field(default_factory=dict)
    campaigns_dir: str = "data/campaigns"
    exports_dir: str = "data/exports"  # where /export writes its CSV files
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    moderation: ModerationRules = Field(default_factory=ModerationRules)
    adlaw: AdlawSettings = Field(default_factory=AdlawSettings)
    order_guard: OrderGuardSettings = Field(default_factory=OrderGuardSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    points: PointsSettings = Field(default_factory=PointsSettings)
    tiers: TierSettings = Field(default_factory=TierSettings)
    stars: StarSettings = Field(default_factory=StarSettings)
    accounts: list[AccountSettings] = Field(
        default_factory=list, description="several WeChat accounts on one database (docs/deploy.md)"
    )
    base_dir: str = Field(default=".", exclude=True)

    @model_validator(mode="after")
    def _wechaty_needs_endpoint(self) -> Config:
        if self.transport == "wechaty" and not self.wechaty.endpoint:
            raise ValueError(
                "transport is 'wechaty' but wechaty.endpoint is empty: set it in config.yaml "
                "or WECHATY_PUPPET_SERVICE_ENDPOINT"
            )
        return self

    @model_validator(mode="after")
    def _accounts_are_consistent(self) -> Config:
        check_accounts(self.accounts, self.groups, sqlite=self.database_url().startswith("sqlite"))
        return self

    def moderation_for(self, group_id: str) -> ModerationRules:
        """The group's moderation rules: the defaults with the group's own keys over them."""
        group = self.groups.get(group_id)
        if group is None:
            return self.moderation
        override = group.moderation.model_dump(exclude_none=True, exclude={"banned_words"})
        words = [*self.moderation.banned_words, *group.moderation.banned_words]
        return self.moderation.model_copy(update={**override, "banned_words": words})

    def adlaw_for(self, group_id: str = "") -> AdlawSettings:
        """The 广告法 allow/extra entries for all groups plus the group's own."""
        group = self.groups.get(group_id)
        if group is None:
            return self.adlaw
        return AdlawSettings(
            allow=[*self.adlaw.allow, *group.adlaw.allow], extra=[*self.adlaw.extra, *group.adlaw.extra]
        )

    def path(self, relative: str) -> Path:
        """Resolve a path from the config relative to the config file's folder."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else Path(self.base_dir) / candidate

    def database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute against the config folder."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.path(url[len(prefix) :]).resolve())
        return url


class ConfigError(Exception):
    """The config cannot be used; the message names each bad key (`keys`: it lists keys to fix,
    not a missing file or a YAML slip) and what to do."""

    def __init__(self, message: str, *, keys: bool = False) -> None:
        super().__init__(message)
        self.keys = keys


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            annotation = current.model_fields[part].annotation
            current = annotation
        elif isinstance(part, str) and get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        suggestion = difflib.get_close_matches(str(loc[-1]), _allowed_keys(Config, loc), n=1)
        hint = f"; did you mean '{suggestion[0]}'?" if suggestion else "; remove it"
        return f"{key}: unknown key{hint}"
    if kind == "missing":
        return f"{key}: required key is missing; add it"
    if not loc or kind == "value_error":
        return f"{key}: {error['msg'].removeprefix('Value error, ')}"
    return f"{key}: {error['msg']} (got {error.get('input')!r})"


def parse_config(data: Any, *, source: str = "config.yaml", base_dir: str = ".") -> Config:
    """Validate already-parsed YAML, applying environment overrides."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, not {type(data).__name__}")
    data = dict(data)
    env_url = os.environ.get("TUANBOT_DATABASE_URL")
    if env_url:
        data["database"] = {**dict(data.get("database") or {}), "url": env_url}
    env_endpoint = os.environ.get("WECHATY_PUPPET_SERVICE_ENDPOINT")
    env_token = os.environ.get("WECHATY_PUPPET_SERVICE_TOKEN")
    if env_endpoint or env_token:
        wechaty = dict(data.get("wechaty") or {})
        if env_endpoint:
            wechaty["endpoint"] = env_endpoint
        if env_token:
            wechaty["token"] = env_token
        data["wechaty"] = wechaty
    web_env = {
        key: os.environ[name]
        for key, name in (
            ("enabled", "TUANBOT_WEB_ENABLED"),
            ("port", "TUANBOT_WEB_PORT"),
            ("admin_token", "TUANBOT_ADMIN_TOKEN"),
            ("secret", "TUANBOT_WEB_SECRET"),
        )
        if os.environ.get(name)
    }
    if web_env:
        data["web"] = {**dict(data.get("web") or {}), **web_env}
    data["base_dir"] = base_dir
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {_describe(dict(err))}" for err in exc.errors()]
        message = "invalid configuration, the bot will not start:\n" + "\n".join(lines)
        raise ConfigError(message, keys=True) from None


def load_config(path: Path) -> Config:
    """Read and validate `path`; raise `ConfigError` naming the bad keys."""
    if not path.exists():
        raise ConfigError(
            f"{path}: no such config file; copy config.yaml from the repository or pass --config"
        )
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        line, column, reason = yaml_problem(exc)
        raise ConfigError(f"{path}:{line}:{column}: not valid YAML: {reason}") from None
    return parse_config(data, source=str(path), base_dir=str(path.parent.resolve()))
