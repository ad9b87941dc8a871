"""Campaign field types for numbers, money and names, each validating itself with a clear message.

Every type here raises a short, actionable :class:`~pydantic_core.PydanticCustomError` (so the
loader prints it as is) and declares its own JSON Schema (so editors check it while admins type).
They are separate from the models in :mod:`bot.campaign.models` because each is a small rule of
its own, reused by several models; time-related types are in :mod:`bot.campaign.time_fields`.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_LIMIT",
    "MAX_PACKETS",
    "MAX_PER_MEMBER",
    "MAX_QUOTA",
    "MAX_STOCK",
    "MAX_THRESHOLD",
    "MAX_YUAN",
    "Count",
    "Money",
    "Number",
    "PositiveMoney",
    "ProductCode",
    "Slug",
    "Text",
]

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
