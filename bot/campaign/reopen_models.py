"""Campaign-file section (docs/growth.md):
限时返场 (tail-period reopen): products with stock left reopen for a window.

The section only declares; the timeline compiler turns it into two nodes (`reopen` at ``at``,
`reopen-close` at ``at + window``) and the selling feature sells in between. Checks that need
the rest of the file (``at`` after closing, price codes, prices not above the sale's) are in
`bot.campaign.reopen_checks`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, PlainSerializer, PlainValidator, TypeAdapter, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from bot.campaign.model_base import _Model
from bot.campaign.time_fields import Duration, When
from bot.campaign.values import Count, PositiveMoney, ProductCode, Text

__all__ = ["BuyGet", "Reopen", "ReopenPrice"]

MAX_BUY_GET = 100
_PERCENT = re.compile(r"^\s*(\d{1,3})\s*%\s*$")
_PRICE_HINT = (
    "expected a percentage of the sale price like '80%', or prices per product code like {A1: 49.90}"
)

ReopenPrice = dict[str, Decimal] | int
"""Prices per product code (yuan), or a whole percentage (1..100) of each product's sale price."""


def _price(value: object) -> dict[str, Decimal] | int:
    """``80%`` (a percentage of the sale price) or ``{A1: 49.90}`` (prices per product code)."""
    if isinstance(value, str):
        found = _PERCENT.match(value)
        if found is None:
            raise PydanticCustomError("reopen_price", _PRICE_HINT)
        percent = int(found.group(1))
        if not 1 <= percent <= 100:
            raise PydanticCustomError("reopen_price", "a percentage from 1% to 100% of the sale price")
        return percent
    if isinstance(value, dict):
        prices: dict[str, Decimal] = {}
        for code, amount in value.items():
            try:
                prices[_CODE.validate_python(code)] = _YUAN.validate_python(amount)
            except ValidationError as exc:
                message = exc.errors()[0]["msg"]
                raise PydanticCustomError(
                    "reopen_price", "{code}: {message}", {"code": str(code), "message": message}
                ) from None
        return prices
    raise PydanticCustomError("reopen_price", _PRICE_HINT)


_CODE: TypeAdapter[str] = TypeAdapter(ProductCode)
_YUAN: TypeAdapter[Decimal] = TypeAdapter(PositiveMoney)


def _price_out(value: dict[str, Decimal] | int) -> Any:
    if isinstance(value, int):
        return f"{value}%"
    return {code: f"{amount:.2f}" for code, amount in value.items()}


Price = Annotated[
    ReopenPrice,
    PlainValidator(_price),
    PlainSerializer(_price_out),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*\d{1,3}\s*%\s*$"},
                {
                    "type": "object",
                    "propertyNames": {"pattern": r"^[A-Z]{1,3}[0-9]{1,3}$"},
                    "additionalProperties": {
                        "anyOf": [
                            {"type": "number", "exclusiveMinimum": 0},
                            {"type": "string", "pattern": r"^[¥￥]?\d+(\.\d{1,2})?$"},
                        ]
                    },
                },
            ],
            "description": "'80%' of the sale price, or yuan per product code: {A1: 49.90}",
            "examples": ["80%", {"A1": 49.9}],
        }
    ),
]


class BuyGet(_Model):
    """买赠: for every ``buy`` units paid in one order, ``get`` more come free while stock lasts."""

    buy: Count = Field(ge=1, le=MAX_BUY_GET, description="Units paid for in one order that earn a gift.")
    get: Count = Field(ge=1, le=MAX_BUY_GET, description="Free units given for each `buy` units paid.")

    def free_for(self, paid: int) -> int:
        """Free units that ``paid`` units of one order line earn (before stock caps them)."""
        return (paid // self.buy) * self.get


class Reopen(_Model):
    """限时返场 (tail-period reopen): products with stock left reopen for a window."""

    enabled: bool = Field(True, description="Turn this section off without deleting it.")
    at: When = Field(description="When the reopen starts: at or after closing, e.g. C+1d.")
    window: Duration = Field(description="How long it stays open, e.g. 2h; it closes at at + window.")
    price: Price | None = Field(
        None,
        description="Reopen price: '80%' of the sale price, or yuan per product code; "
        "not above the sale price (default: the sale price).",
    )
    buy_get: BuyGet | None = Field(None, description="买赠: e.g. {buy: 2, get: 1}, buy 2 get 1 free.")
    recommend: Text | None = Field(
        None, max_length=300, description="Related-product recommendation posted with the reopen."
    )
    recommend_products: list[ProductCode] = Field(
        default_factory=list, description="Product codes the recommendation features (listed by name)."
    )

    def price_cents(self, code: str, sale_cents: int) -> int:
        """What one unit of ``code`` costs in the reopen, in fen (the sale price when not set)."""
        if isinstance(self.price, int):
            return max(1, (sale_cents * self.price + 50) // 100)
        if isinstance(self.price, dict) and code in self.price:
            return int(self.price[code] * 100)
        return sale_cents
