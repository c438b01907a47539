"""API shapes of orders with their lines and shipments. Money travels as decimal strings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema

from guanxi.api.input_limits import MAX_INT32
from guanxi.api.schemas import CustomerRef, DateTimeIn, InputSchema, MoneyIn, MoneyOut, PageQuery, StoreRef, can_see_contact
from guanxi.commerce.models import OrderStatus, ShipmentStatus
from guanxi.customers.masking import mask_address, mask_phone


class OrderLineIn(InputSchema):
    sku: str = ""
    title: str
    quantity: int = Field(1, ge=0, le=MAX_INT32)
    unit_price: MoneyIn = Decimal("0")
    amount: MoneyIn | None = Field(None, description="Default: quantity × unit_price.")


class ShipmentIn(InputSchema):
    carrier: str = ""
    tracking_number: str = ""
    status: ShipmentStatus = ShipmentStatus.PENDING
    shipped_at: DateTimeIn | None = None
    delivered_at: DateTimeIn | None = None


class OrderIn(InputSchema):
    store_id: int
    customer_id: int
    number: str = Field(..., description="The platform's order number, unique per store.")
    status: OrderStatus
    placed_at: DateTimeIn
    currency: str = Field("", description="Default: the store's currency.")
    goods_amount: MoneyIn = Decimal("0")
    shipping_amount: MoneyIn = Decimal("0")
    discount_amount: MoneyIn = Decimal("0")
    paid_amount: MoneyIn = Decimal("0")
    refunded_amount: MoneyIn = Decimal("0")
    paid_at: DateTimeIn | None = None
    shipped_at: DateTimeIn | None = None
    completed_at: DateTimeIn | None = None
    closed_at: DateTimeIn | None = None
    receiver_name: str = ""
    receiver_phone: str = ""
    receiver_address: str = ""
    buyer_message: str = ""
    lines: list[OrderLineIn] = []
    shipments: list[ShipmentIn] = []


class OrderPatch(InputSchema):
    """Status, amounts, timestamps and receiver details; the number, store and customer stay."""

    status: OrderStatus = None
    goods_amount: MoneyIn = None
    shipping_amount: MoneyIn = None
    discount_amount: MoneyIn = None
    paid_amount: MoneyIn = None
    refunded_amount: MoneyIn = None
    paid_at: DateTimeIn | None = None
    shipped_at: DateTimeIn | None = None
    completed_at: DateTimeIn | None = None
    closed_at: DateTimeIn | None = None
    receiver_name: str = None
    receiver_phone: str = None
    receiver_address: str = None
    buyer_message: str = None


class OrderLineOut(Schema):
    id: int
    product_id: int | None
    sku: str
    title: str
    quantity: int
    unit_price: MoneyOut
    amount: MoneyOut
    unit_cost: MoneyOut | None


class ShipmentOut(Schema):
    id: int
    carrier: str
    tracking_number: str
    status: str
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None


class OrderOut(Schema):
    id: int
    number: str
    store: StoreRef
    customer: CustomerRef
    status: str
    currency: str
    goods_amount: MoneyOut
    shipping_amount: MoneyOut
    discount_amount: MoneyOut
    paid_amount: MoneyOut
    refunded_amount: MoneyOut
    placed_at: dt.datetime
    paid_at: dt.datetime | None
    shipped_at: dt.datetime | None
    completed_at: dt.datetime | None
    closed_at: dt.datetime | None
    receiver_name: str
    receiver_phone: str = Field(..., description="Masked for roles without permission to see contact details.")
    receiver_address: str = Field(..., description="Masked for roles without permission to see contact details.")
    buyer_message: str
    lines: list[OrderLineOut]
    shipments: list[ShipmentOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_receiver_phone(obj, context) -> str:
        return obj.receiver_phone if can_see_contact(context) else mask_phone(obj.receiver_phone)

    @staticmethod
    def resolve_receiver_address(obj, context) -> str:
        return obj.receiver_address if can_see_contact(context) else mask_address(obj.receiver_address)


class OrderPage(Schema):
    items: list[OrderOut]
    count: int


class OrderQuery(PageQuery):
    customer: int | None = Field(None, description="Customer id.")
    store: int | None = Field(None, description="Store id.")
    status: OrderStatus | None = None
    number: str = Field("", description="Exact order number.")
    placed_from: dt.date | None = Field(None, description="Placed on or after this day (workspace time zone).")
    placed_to: dt.date | None = Field(None, description="Placed on or before this day (workspace time zone).")
