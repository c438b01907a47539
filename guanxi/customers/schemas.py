"""API shapes of customers: profile, identities, tags, custom field values and consents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, WithJsonSchema

from guanxi.api.schemas import DateTimeIn, InputSchema, PageQuery, UserRef, can_see_contact
from guanxi.customers.masking import mask_address, mask_phone
from guanxi.customers.models import Channel, Gender, IdentityKind, Lifecycle


class IdentityIn(InputSchema):
    kind: IdentityKind
    value: str = Field(..., max_length=255, examples=["13812345678"])
    store_id: int | None = Field(None, description="The store a per-shop id comes from (buyer_id, taobao_ouid, "
                                                    "taobao_oaid need it).")


class IdentityOut(Schema):
    id: int
    kind: str
    value: str = Field(..., description="Normalised (phones E.164); phones are masked for roles without "
                                        "permission to see contact details.")
    store_id: int | None

    @staticmethod
    def resolve_value(obj, context) -> str:
        if obj.kind == IdentityKind.PHONE and not can_see_contact(context):
            return mask_phone(obj.value)
        return obj.value


class ConsentIn(InputSchema):
    channel: Channel
    granted: bool
    source: str = Field("api", max_length=100)
    recorded_at: DateTimeIn | None = Field(None, description="When it was given or withdrawn; default now.")


class ConsentOut(Schema):
    channel: str
    granted: bool
    recorded_at: dt.datetime
    source: str


def _scalar(value):
    if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
        raise ValueError("Send a string, a number or null.")
    return value


# A custom field value as sent: text or choice as a string, a number, a date as "YYYY-MM-DD"; null clears it.
# (Not a union of types: its errors would carry pydantic's member names in their field paths.)
CustomValue = Annotated[Any, AfterValidator(_scalar), WithJsonSchema({"type": ["string", "number", "null"]})]


class CustomerIn(InputSchema):
    name: str = ""
    gender: Gender = Gender.UNKNOWN
    birthday: dt.date | None = None
    country: str = "CN"
    province: str = ""
    city: str = ""
    district: str = ""
    address: str = ""
    company: str = ""
    industry: str = ""
    company_size: str = ""
    business_model: str = ""
    display_phone: str = Field("", description="A masked phone kept for display, e.g. 138****5678.")
    lifecycle_stage: Lifecycle = Lifecycle.POTENTIAL
    note: str = ""
    owner_id: int | None = None
    identities: list[IdentityIn] = []
    tags: list[str] = []
    custom: dict[str, CustomValue] = Field({}, description="Custom field values by key.")
    consents: list[ConsentIn] = []


class CustomerPatch(InputSchema):
    """Only the fields sent change. `tags` replaces the tag set; `custom` and `consents` change the keys and
    channels they name."""

    name: str = None
    gender: Gender = None
    birthday: dt.date | None = None
    country: str = None
    province: str = None
    city: str = None
    district: str = None
    address: str = None
    company: str = None
    industry: str = None
    company_size: str = None
    business_model: str = None
    display_phone: str = None
    lifecycle_stage: Lifecycle = None
    note: str = None
    owner_id: int | None = None
    tags: list[str] = None
    custom: dict[str, CustomValue] = None
    consents: list[ConsentIn] = None


def _plain(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class CustomerOut(Schema):
    id: int
    name: str
    gender: str
    birthday: dt.date | None
    country: str
    province: str
    city: str
    district: str
    address: str = Field(..., description="Masked for roles without permission to see contact details.")
    company: str
    industry: str
    company_size: str
    business_model: str
    display_phone: str
    lifecycle_stage: str
    note: str
    owner: UserRef | None
    merged_into_id: int | None = Field(..., description="Set when this record was merged into another customer.")
    identities: list[IdentityOut]
    tags: list[str]
    custom: dict[str, str | None] = Field(..., description="Custom field values by key, as strings.")
    consents: list[ConsentOut]
    first_order_at: dt.datetime | None = Field(..., description="When the customer placed their earliest order "
                                                              "(any status); null without orders.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_address(obj, context) -> str:
        return obj.address if can_see_contact(context) else mask_address(obj.address)

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return [link.tag.name for link in obj.customer_tags.all()]

    @staticmethod
    def resolve_custom(obj) -> dict[str, str | None]:
        return {value.field.key: _plain(value.value) for value in obj.custom_values.all()}


class CustomerPage(Schema):
    items: list[CustomerOut]
    count: int


class CustomerQuery(PageQuery):
    q: str = Field("", description="The same one-box search as the web UI: name (Chinese too), nick, full phone or "
                                   "its last 4 digits, email, order number.")
    tag: str = Field("", description="Only customers with this tag (by name).")
    owner: int | None = Field(None, description="Only customers owned by this user id.")
    lifecycle_stage: Lifecycle | None = None
