"""Pydantic models of a campaign file (one YAML file per campaign under ``data/campaigns/``).

The models check what a single field can know (types, ranges, time syntax, money with at most
two decimals); everything that needs several fields at once (times in order, references between
products and coupons, duplicates) is checked by :mod:`bot.campaign.loader`, which can then point
at the exact line of each offending value. Every field has a description because the JSON Schema
generated from these models is what admins' editors show while they type.

Times stay unresolved (:class:`~bot.campaign.times.TimeSpec`) so that moving ``opens_at`` moves
every relative node; :meth:`Campaign.resolve` turns them into aware datetimes.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from bot.campaign.times import (
    CLOSING_HINT,
    DURATION_HINT,
    MAX_SPAN,
    OPENING_HINT,
    TIME_HINT,
    TimeSpec,
    format_duration,
    parse_duration,
    parse_time_spec,
    resolve_closing,
    resolve_opening,
    to_utc,
)

__all__ = [
    "DEFAULT_COUNTDOWNS",
    "DEFAULT_TIMEZONE",
    "Broadcasts",
    "Campaign",
    "ClosePosts",
    "Coupon",
    "FaqEntry",
    "FollowupPost",
    "OpenPost",
    "PickupPoint",
    "PreheatPost",
    "Product",
    "RedPacketBurst",
    "SpendTier",
    "in_quiet_hours",
]

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_COUNTDOWNS = ("T-10m", "T-5m", "T-1m")
_CENT = Decimal("0.01")

# Upper bounds of every number (docs/campaigns.md, "Limits"): past them a value is a typo, and
# the bot must refuse it when the file is checked rather than fail while the sale runs.
MAX_YUAN = Decimal("1000000")
MAX_STOCK = 1_000_000
MAX_LIMIT = 10_000
MAX_PACKETS = 1_000
MAX_QUOTA = 1_000_000
MAX_PER_MEMBER = 1_000
MAX_THRESHOLD = 1_000_000.0

# --------------------------------------------------------------------------- field types
# Each type validates itself with a short, actionable message (PydanticCustomError) so the
# loader can print it as is, and declares its JSON Schema so editors can check it too.


def _money(value: object, *, positive: bool) -> Decimal:
    """Yuan with at most two decimals, as an exact Decimal quantized to 0.01."""
    hint = "expected an amount in yuan like 12.90"
    if isinstance(value, bool):
        raise PydanticCustomError("money", hint)
    if isinstance(value, Decimal | int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip().lstrip("¥￥").strip())
        except InvalidOperation:
            raise PydanticCustomError("money", hint) from None
    else:
        raise PydanticCustomError("money", hint)
    if not amount.is_finite():
        raise PydanticCustomError("money", hint)
    if abs(amount) > MAX_YUAN:
        raise PydanticCustomError("money_too_large", f"must be at most {MAX_YUAN} yuan")
    if amount != amount.quantize(_CENT):
        raise PydanticCustomError("money_precision", "use at most 2 decimal places (yuan.fen), e.g. 12.90")
    if amount < 0:
        raise PydanticCustomError("money_negative", "must not be negative")
    if positive and amount == 0:
        raise PydanticCustomError("money_zero", "must be more than 0")
    return amount.quantize(_CENT)


def _money_schema(minimum: float, exclusive: bool) -> dict[str, Any]:
    bound = {"exclusiveMinimum": minimum} if exclusive else {"minimum": minimum}
    return {
        "anyOf": [{"type": "number", **bound}, {"type": "string", "pattern": r"^[¥￥]?\d+(\.\d{1,2})?$"}],
        "description": "Yuan with at most 2 decimals, e.g. 12.90",
    }


def _money_serialize(value: Decimal) -> str:
    return f"{value:.2f}"


Money = Annotated[
    Decimal,
    PlainValidator(functools.partial(_money, positive=False)),
    PlainSerializer(_money_serialize, return_type=str),
    WithJsonSchema(_money_schema(0, exclusive=False)),
]
"""Non-negative yuan amount (e.g. a minimum spend)."""

PositiveMoney = Annotated[
    Decimal,
    PlainValidator(functools.partial(_money, positive=True)),
    PlainSerializer(_money_serialize, return_type=str),
    WithJsonSchema(_money_schema(0, exclusive=True)),
]
"""Yuan amount above zero (a price, a coupon amount, a red-packet budget)."""


def _time_spec(value: object) -> TimeSpec:
    if isinstance(value, TimeSpec):
        return value
    if isinstance(value, datetime):
        return TimeSpec.absolute(value)
    if isinstance(value, str):
        try:
            return parse_time_spec(value)
        except ValueError as exc:
            raise PydanticCustomError("time", str(exc)) from None
    raise PydanticCustomError("time", TIME_HINT + "; put it in quotes if in doubt")


_ABSOLUTE_PATTERN = (
    r"^\s*\d{4}[-/]\d{1,2}[-/]\d{1,2}(T|\s+)\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)
_TIME_PATTERN = (
    r"^\s*([TtCc](\s*[+-]\s*(\d+d)?(\d+h)?(\d+m)?(\d+s)?)?"
    r"|\d{4}[-/]\d{1,2}[-/]\d{1,2}(T|\s+)\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)\s*$"
)

When = Annotated[
    TimeSpec,
    PlainValidator(_time_spec),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _TIME_PATTERN,
            "description": "T±offset (relative to opening), C±offset (relative to closing) "
            "or an absolute time; units d h m s, e.g. T-10m, T+30m, T-1d2h, C+1d, 2026-12-05 20:00",
            "examples": ["T-10m", "T+30m", "T-3d", "C+1d", "2026-12-05 20:00"],
        }
    ),
]
"""A point on the timeline, relative (``T-10m``) or absolute."""


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, str):
        try:
            duration = parse_duration(value)
        except ValueError as exc:
            raise PydanticCustomError("duration", str(exc)) from None
    else:
        raise PydanticCustomError("duration", DURATION_HINT + " (with a unit)")
    if duration <= timedelta(0):
        raise PydanticCustomError("duration", "must be longer than 0s")
    if duration > MAX_SPAN:
        raise PydanticCustomError("duration", f"too long: at most {MAX_SPAN.days}d (a year)")
    return duration


Duration = Annotated[
    timedelta,
    PlainValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*(\d+d)?(\d+h)?(\d+m)?(\d+s)?\s*$",
            "description": "Duration with units d h m s, e.g. 60s, 15m, 1h30m",
            "examples": ["60s", "15m", "2h", "1h30m"],
        }
    ),
]
"""A positive duration such as ``15m``."""


_SLUG_RE = re.compile(r"^[a-z0-9_-]+$")


def _slug(value: object) -> str:
    if not isinstance(value, str) or not _SLUG_RE.match(value):
        raise PydanticCustomError(
            "slug", "use lowercase letters, digits, '-' and '_' only, e.g. 'fruit-2026-12'"
        )
    return value


Slug = Annotated[
    str,
    PlainValidator(_slug),
    WithJsonSchema({"type": "string", "pattern": _SLUG_RE.pattern, "examples": ["fruit-2026-12"]}),
]

_CODE_RE = re.compile(r"^[A-Z]{1,3}[0-9]{1,3}$")


def _product_code(value: object) -> str:
    if not isinstance(value, str) or not _CODE_RE.match(value):
        raise PydanticCustomError(
            "product_code", "use 1-3 capital letters then 1-3 digits, e.g. 'A1' (members order with it)"
        )
    return value


ProductCode = Annotated[
    str,
    PlainValidator(_product_code),
    WithJsonSchema({"type": "string", "pattern": _CODE_RE.pattern, "examples": ["A1", "B2"]}),
]


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


_TZ_HINTS = {
    "asia/beijing": "Asia/Shanghai",
    "beijing": "Asia/Shanghai",
    "china": "Asia/Shanghai",
    "cst": "Asia/Shanghai",
}
"""Names admins in China plausibly write; difflib would suggest Asia/Brunei for Asia/Beijing."""


def _timezone(value: object) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("timezone", "expected an IANA timezone name like 'Asia/Shanghai'")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        close = [_TZ_HINTS[value.lower()]] if value.lower() in _TZ_HINTS else []
        close = close or difflib.get_close_matches(value, sorted(_timezones()), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; use an IANA name like 'Asia/Shanghai'"
        raise PydanticCustomError("timezone", "unknown timezone '{tz}'" + hint, {"tz": value}) from None
    return value


Timezone = Annotated[
    str,
    PlainValidator(_timezone),
    WithJsonSchema({"type": "string", "description": "IANA timezone", "examples": ["Asia/Shanghai"]}),
]

_QUIET_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _quiet_hours(value: object) -> tuple[time, time]:
    if isinstance(value, tuple):
        return value  # already parsed (model_copy, programmatic construction)
    match = _QUIET_RE.match(value) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = time(h1, m1), time(h2, m2)
    except ValueError:
        raise PydanticCustomError("quiet_hours", "expected local hours like '23:00-08:00'") from None
    if start == end:
        raise PydanticCustomError("quiet_hours", "start and end are equal; remove quiet_hours instead")
    return start, end


QuietHours = Annotated[
    tuple[time, time],
    PlainValidator(_quiet_hours),
    PlainSerializer(lambda v: f"{v[0]:%H:%M}-{v[1]:%H:%M}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": _QUIET_RE.pattern, "examples": ["23:00-08:00"]}),
]
"""A local time range (may wrap midnight) during which interval broadcasts are skipped."""


def in_quiet_hours(moment: time, quiet: tuple[time, time]) -> bool:
    """True when ``moment`` lies in ``[start, end)``; the range may wrap midnight."""
    start, end = quiet
    return start <= moment < end if start < end else (moment >= start or moment < end)


Text = Annotated[str, Field(min_length=1)]
"""Non-empty text."""


def _count(value: object) -> int:
    """A whole number as written: ``true`` is not 1 and ``5.0`` is not 5."""
    if isinstance(value, bool) or not isinstance(value, int):
        shown = str(value) if isinstance(value, Decimal) else repr(value)
        raise PydanticCustomError("int_type", "expected a whole number, got {got}", {"got": shown[:40]})
    return value


def _number(value: object) -> float:
    """A number (whole or not); booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        shown = str(value) if isinstance(value, Decimal) else repr(value)
        raise PydanticCustomError("float_type", "expected a number like 0.2, got {got}", {"got": shown[:40]})
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise PydanticCustomError("float_type", "expected a number like 0.2, got {got}", {"got": str(value)})
    return number


Count = Annotated[int, BeforeValidator(_count)]
"""A whole number (bounds are given per field)."""

Number = Annotated[float, BeforeValidator(_number)]
"""A finite number that is not a boolean (bounds are given per field)."""


def _context(info: ValidationInfo, name: str) -> Any:
    """A value the loader passes in the validation context, or the already-validated field."""
    data = info.data if isinstance(getattr(info, "data", None), dict) else {}
    if name in data:
        return data[name]
    return (info.context or {}).get(name)


def _campaign_tz(info: ValidationInfo) -> tzinfo:
    name = _context(info, "timezone")
    try:
        return zoneinfo.ZoneInfo(name) if isinstance(name, str) else zoneinfo.ZoneInfo(DEFAULT_TIMEZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_TIMEZONE)


def _anchor(info: ValidationInfo) -> datetime:
    """When relative openings (``+2h``) count from: the loader's anchor, else now."""
    anchor = (info.context or {}).get("anchor")
    return anchor if isinstance(anchor, datetime) else datetime.now(UTC)


def _opening(value: object, info: ValidationInfo) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("opening", OPENING_HINT + "; put it in quotes if in doubt")
    try:
        return resolve_opening(value, _anchor(info), _campaign_tz(info))
    except ValueError as exc:
        raise PydanticCustomError("opening", str(exc)) from None


def _closing(value: object, info: ValidationInfo) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("closing", CLOSING_HINT + "; put it in quotes if in doubt")
    opens = _context(info, "opens_at")
    try:
        return resolve_closing(
            value, _anchor(info), opens if isinstance(opens, datetime) else None, _campaign_tz(info)
        )
    except ValueError as exc:
        raise PydanticCustomError("closing", str(exc)) from None


_ANCHORED_PATTERN = r"\+\s*(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\s+\d{1,2}:\d{2})?"

Opening = Annotated[
    datetime,
    PlainValidator(_opening),
    PlainSerializer(lambda dt: dt.isoformat(sep=" ", timespec="minutes"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*({_ANCHORED_PATTERN}|{_ABSOLUTE_PATTERN[4:-4]})\s*$",
            "description": "Absolute time (without an offset: campaign timezone), or counted from when "
            "the bot first loaded this campaign: '+2h', '+1d 20:00' (tomorrow at 20:00)",
            "examples": ["2026-12-05 20:00", "+2h", "+1d 20:00"],
        }
    ),
]
"""The opening time T: absolute, or relative to the campaign's anchor (its first load)."""

Closing = Annotated[
    datetime,
    PlainValidator(_closing),
    PlainSerializer(lambda dt: dt.isoformat(sep=" ", timespec="minutes"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*([Tt]\s*\+\s*(\d+d)?(\d+h)?(\d+m)?(\d+s)?|{_ANCHORED_PATTERN}"
            rf"|{_ABSOLUTE_PATTERN[4:-4]})\s*$",
            "description": "Absolute time, 'T+26h' (after opening), or like opens_at: '+1d 22:00'",
            "examples": ["2026-12-06 22:00", "T+26h", "+2d 22:00"],
        }
    ),
]
"""The closing time C: absolute, ``T+…`` after the opening, or relative to the anchor."""

# --------------------------------------------------------------------------- models


class _Model(BaseModel):
    """Base: unknown keys are errors (typos must not be silently ignored), values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class _Post(_Model):
    """Something the bot posts: literal ``text`` or a Jinja2 ``template`` under ``templates/``."""

    text: Text | None = Field(None, description="Literal message text (Simplified Chinese).")
    template: Text | None = Field(
        None, description="Template under templates/, e.g. campaign/preheat.j2 (instead of text)."
    )


class Product(_Model):
    """A product on sale; members order it by ``code`` in the chain list (接龙)."""

    code: ProductCode = Field(description="Order code members type, e.g. A1.")
    name: Text = Field(description="Product name shown in posts.")
    price: PositiveMoney = Field(description="Price in yuan, at most 2 decimals.")
    stock: Count = Field(ge=0, le=MAX_STOCK, description="Units available; orders never exceed it.")
    limit_per_member: Count | None = Field(
        None, ge=1, le=MAX_LIMIT, description="Max units one member may order."
    )
    unit: Text | None = Field(None, description="Unit word, e.g. 盒, 斤, 箱.")
    description: Text | None = Field(None, description="One or two lines about the product.")

    @property
    def price_cents(self) -> int:
        """Price in fen (分), the unit storage and arithmetic use to stay exact."""
        return int(self.price * 100)


class PreheatPost(_Post):
    """A teaser post before opening (预热蓄水), e.g. daily at T-3d, T-2d, T-1d."""

    at: When = Field(description="When to post; must be before opening.")
    products: list[ProductCode] = Field(default_factory=list, description="Products the post features.")
    coupon: Slug | None = Field(None, description="Id of a coupon the post promotes.")


class RedPacketBurst(_Post):
    """A red-packet rain burst (红包雨): members grab with a keyword; paid as coupon credit."""

    at: When = Field(description="When the burst starts; must be before opening.")
    packets: Count = Field(ge=1, le=MAX_PACKETS, description="Number of packets (the first N grabbers win).")
    budget: PositiveMoney = Field(description="Total yuan split randomly among the packets.")
    keyword: Text = Field("抢", description="What members type to grab.")
    window: Duration = Field(
        timedelta(seconds=60),
        description="How long grabbing stays open.",
        json_schema_extra={"default": "60s"},
    )

    @property
    def budget_cents(self) -> int:
        """Budget in fen."""
        return int(self.budget * 100)


class OpenPost(_Post):
    """The opening post (开团) at T; the sale opens even if posting is late."""


class Broadcasts(_Post):
    """Stock and sales broadcasts (库存/销量播报) while the sale is open."""

    at: list[When] = Field(
        default_factory=lambda: [parse_time_spec("T+30m")],
        description="Fixed broadcast times between opening and closing.",
        json_schema_extra={"default": ["T+30m"]},
    )
    every: Duration | None = Field(None, description="Also broadcast at this interval after opening.")
    low_stock_threshold: Number = Field(
        0.2, gt=0, lt=1, description="Announce 'only N left' when stock falls below this share."
    )
    window: Duration = Field(
        timedelta(seconds=60),
        description="Coalescing window: at most one stock post per window.",
        json_schema_extra={"default": "60s"},
    )
    quiet_hours: QuietHours | None = Field(
        None, description="Local hours without interval broadcasts, e.g. 23:00-08:00."
    )


class AlertRule(_Model):
    """Overrides for one monitoring rule; anything left out keeps the documents' default."""

    threshold: Number | None = Field(
        None, ge=0, le=MAX_THRESHOLD, description="Alert when the metric falls below this."
    )
    window: Duration | None = Field(None, description="Sliding window the metric is computed over.")
    min_duration: Duration | None = Field(None, description="How long it must stay low before alerting.")
    cooldown: Duration | None = Field(None, description="Quiet time after an alert before another.")


class Monitoring(_Model):
    """Alert thresholds for this campaign's groups (docs/metrics.md); alerts go to leaders privately."""

    enabled: bool = Field(True, description="Watch the groups while the sale is open.")
    active_ratio: AlertRule = Field(default_factory=AlertRule, description="Active members ÷ members (50%).")
    messages_per_minute: AlertRule = Field(default_factory=AlertRule, description="Messages a minute (10).")
    conversion: AlertRule = Field(default_factory=AlertRule, description="Buyers ÷ active members (15%).")
    stock_ratio: AlertRule = Field(default_factory=AlertRule, description="Stock left ÷ stock (20%).")


class ClosePosts(_Post):
    """What happens at closing (结团): results, thanks, preview of the next campaign."""

    results: bool = Field(True, description="Post the campaign results (战绩).")
    thanks: bool = Field(True, description="Thank the buyers.")
    next_preview: Text | None = Field(None, description="Teaser for the next campaign.")


class FollowupPost(_Post):
    """A post after closing: photo-sharing reward (晒单有礼), after-sales follow-up."""

    at: When = Field(description="When to post; at or after closing, e.g. C+1d.")


class Coupon(_Model):
    """A coupon issued by keyword in chat (or to newcomers), redeemable on orders."""

    id: Slug = Field(description="Unique coupon id, e.g. newcomer.")
    keyword: Text | None = Field(None, description="Chat keyword that issues the coupon.")
    match: Literal["exact", "contains"] = Field(
        "exact", description="exact: the whole message is the keyword; contains: anywhere in it."
    )
    on_join: bool = Field(False, description="Issue to members who join (新人礼包).")
    amount: PositiveMoney = Field(description="Discount in yuan.")
    min_spend: Money = Field(Decimal("0.00"), description="Minimum order total in yuan (0 = none).")
    quota: Count | None = Field(
        None, ge=1, le=MAX_QUOTA, description="Total coupons available (omit = unlimited)."
    )
    per_member: Count = Field(1, ge=1, le=MAX_PER_MEMBER, description="Coupons one member may get.")
    products: list[ProductCode] = Field(
        default_factory=list, description="Only valid for these products (empty = all)."
    )
    valid_from: When | None = Field(None, description="Redeemable from (default: when issued).")
    valid_until: When | None = Field(None, description="Redeemable until (default: closing).")
    valid_for: Duration | None = Field(None, description="Redeemable for this long after issue.")

    @property
    def amount_cents(self) -> int:
        """Amount in fen."""
        return int(self.amount * 100)

    @property
    def min_spend_cents(self) -> int:
        """Minimum spend in fen."""
        return int(self.min_spend * 100)


class SpendTier(_Model):
    """A spend discount tier (满减): spend at least ``min_spend``, get ``off`` yuan off."""

    min_spend: PositiveMoney = Field(description="Order total in yuan that unlocks the tier.")
    off: PositiveMoney = Field(description="Yuan taken off.")


class FaqEntry(_Model):
    """A question members ask and its answer (常见问题解答)."""

    question: Text = Field(description="The canonical question.")
    keywords: list[Text] = Field(default_factory=list, description="Words that trigger this answer.")
    examples: list[Text] = Field(
        default_factory=list, description="Questions as members phrase them (for fuzzy matching)."
    )
    answer: Text = Field(description="The answer posted to the group.")


class PickupPoint(_Model):
    """A pickup point (自提点)."""

    name: Text = Field(description="Short name, e.g. 东门菜鸟驿站.")
    address: Text = Field(description="Address.")
    hours: Text | None = Field(None, description="Opening hours, e.g. 周日 9:00-20:00.")


class Campaign(_Model):
    """One group-buying campaign (一次团购): what is sold, to which groups, and its timeline."""

    id: Slug = Field(description="Unique campaign id; used in job ids and commands.")
    title: Text = Field(description="Campaign title shown in posts.")
    groups: list[Text] = Field(default_factory=list, description="Group ids the campaign runs in.")
    group_tags: list[Text] = Field(
        default_factory=list, description="Run in every group carrying one of these tags."
    )
    timezone: Timezone = Field(DEFAULT_TIMEZONE, description="IANA timezone of naive times.")
    opens_at: Opening = Field(description="Opening time T (开团).")
    closes_at: Closing = Field(description="Closing time C (结团); after opens_at.")
    products: list[Product] = Field(min_length=1, description="Products on sale.")
    preheat: list[PreheatPost] = Field(default_factory=list, description="Teaser posts before opening.")
    countdowns: list[When] = Field(
        default_factory=lambda: [parse_time_spec(t) for t in DEFAULT_COUNTDOWNS],
        description="Countdown reminders before opening.",
        json_schema_extra={"default": list(DEFAULT_COUNTDOWNS)},
    )
    red_packets: list[RedPacketBurst] = Field(default_factory=list, description="Red-packet rain bursts.")
    open: OpenPost = Field(default_factory=OpenPost, description="The opening post.")
    broadcasts: Broadcasts = Field(default_factory=Broadcasts, description="Stock/sales broadcasts.")
    close: ClosePosts = Field(default_factory=ClosePosts, description="Closing posts.")
    followups: list[FollowupPost] = Field(default_factory=list, description="Posts after closing.")
    coupons: list[Coupon] = Field(default_factory=list, description="Coupons.")
    spend_tiers: list[SpendTier] = Field(default_factory=list, description="Spend discount tiers (满减).")
    faq: list[FaqEntry] = Field(default_factory=list, description="FAQ entries.")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="Alert thresholds (监控预警).")
    pickup_points: list[PickupPoint] = Field(default_factory=list, description="Pickup points (自提点).")

    @field_validator("opens_at", "closes_at", mode="after")
    @classmethod
    def _localize(cls, value: datetime, info: ValidationInfo) -> datetime:
        """Naive times mean the campaign timezone; store them aware so nobody guesses later."""
        name = info.data.get("timezone")
        if not isinstance(name, str):
            return value  # timezone itself is invalid; that error is reported on its own
        tz = zoneinfo.ZoneInfo(name)
        return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)

    @property
    def tz(self) -> tzinfo:
        """The campaign timezone."""
        return zoneinfo.ZoneInfo(self.timezone)

    def resolve(self, spec: TimeSpec) -> datetime:
        """Absolute, aware time of ``spec`` in the campaign timezone."""
        return spec.resolve(self.opens_at, self.closes_at, self.tz)

    def product(self, code: str) -> Product | None:
        """The product with ``code``, or None."""
        return next((p for p in self.products if p.code == code), None)

    def coupon(self, coupon_id: str) -> Coupon | None:
        """The coupon with ``coupon_id``, or None."""
        return next((c for c in self.coupons if c.id == coupon_id), None)

    def shifted(self, delta: timedelta) -> Campaign:
        """The same campaign moved by ``delta`` (every absolute time; relative ones follow T/C).

        Used by rehearsal (anchor T to now) and ``/campaign delay``.
        """
        shifted = _shift(self, delta)
        assert isinstance(shifted, Campaign)
        return shifted


def _shift(value: object, delta: timedelta) -> object:
    """Recursively move absolute times in a model tree."""
    if isinstance(value, TimeSpec):
        return value.shifted(delta)
    if isinstance(value, datetime):
        return value + delta if value.tzinfo is None else (to_utc(value) + delta).astimezone(value.tzinfo)
    if isinstance(value, list):
        return [_shift(item, delta) for item in value]
    if isinstance(value, BaseModel):
        updates = {name: _shift(getattr(value, name), delta) for name in type(value).model_fields}
        return value.model_copy(update=updates)
    return value
