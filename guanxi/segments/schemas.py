"""API shapes of segments: rules in, counts and samples out, members with their scores, history and sizes."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from guanxi.activities.models import TaskKind
from guanxi.api.schemas import InputSchema, MoneyOut, PageQuery, QuerySchema, UserRef

RULES_DOC = (
    'The rule: {"all": [...]} or {"any": [...]} of conditions {"field", "op", "value"} and nested groups. '
    "Errors come back keyed by their path in the rule, e.g. all[1].any[0].op."
)
# A date means the end of that day in the workspace time zone; a time without an offset is read in that zone.
AsOf = dt.date | dt.datetime


class SegmentIn(InputSchema):
    name: str = Field(..., max_length=200)
    description: str = ""
    rules: dict[str, Any] = Field(..., description=RULES_DOC,
                                  examples=[{"all": [{"field": "total_paid", "op": ">", "value": 500}]}])
    owner_id: int | None = None
    as_of: AsOf | None = Field(None, description="Evaluate the rules as of this day or moment (default now).")


class SegmentPatch(InputSchema):
    name: str = Field(None, max_length=200)
    description: str = None
    rules: dict[str, Any] = Field(None, description=RULES_DOC)
    owner_id: int | None = None
    as_of: AsOf | None = None


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    rules: dict[str, Any]
    owner: UserRef | None
    builtin: bool
    builtin_key: str
    member_count: int
    refreshed_at: dt.datetime | None
    refreshed_as_of: dt.datetime | None
    refresh_error: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_name(obj) -> str:
        return str(obj.display_name)

    @staticmethod
    def resolve_builtin(obj) -> bool:
        return obj.is_builtin


class SegmentPage(Schema):
    items: list[SegmentOut]
    count: int


class CustomerBrief(Schema):
    """A customer as segment lists show them: name, order figures and scores."""

    id: int
    name: str
    province: str
    city: str
    paid_orders: int
    total_paid: MoneyOut
    currency: str = Field(description="Of total_paid and clv: the workspace's reporting currency (orders in other "
                                      "currencies converted at the rate of their day; without a rate left out).")
    last_order_at: dt.datetime | None
    rfm_segment: str
    value_class: str
    clv: MoneyOut | None
    p_alive: float | None
    churn_risk: str

    @staticmethod
    def _facts(obj):
        return getattr(obj, "segment_facts", None)

    @staticmethod
    def _score(obj):
        return getattr(obj, "score", None)

    @staticmethod
    def resolve_paid_orders(obj) -> int:
        facts = CustomerBrief._facts(obj)
        return facts.paid_orders_count if facts else 0

    @staticmethod
    def resolve_currency(obj) -> str:
        from guanxi.workspaces.tenancy import current_workspace

        return current_workspace().currency

    @staticmethod
    def resolve_total_paid(obj):
        facts = CustomerBrief._facts(obj)
        return facts.total_paid if facts else 0

    @staticmethod
    def resolve_last_order_at(obj):
        facts = CustomerBrief._facts(obj)
        return facts.last_order_at if facts else None

    @staticmethod
    def resolve_rfm_segment(obj) -> str:
        score = CustomerBrief._score(obj)
        return score.rfm_segment if score else ""

    @staticmethod
    def resolve_value_class(obj) -> str:
        score = CustomerBrief._score(obj)
        return score.value_class if score else ""

    @staticmethod
    def resolve_clv(obj):
        score = CustomerBrief._score(obj)
        return score.clv if score else None

    @staticmethod
    def resolve_p_alive(obj):
        score = CustomerBrief._score(obj)
        return score.p_alive if score else None

    @staticmethod
    def resolve_churn_risk(obj) -> str:
        score = CustomerBrief._score(obj)
        return score.churn_risk if score else ""


class PreviewIn(InputSchema):
    rules: dict[str, Any] = Field(..., description=RULES_DOC)
    as_of: AsOf | None = None
    sample: int = Field(10, ge=0, le=50, description="How many matching customers to return (any of them).")


class PreviewOut(Schema):
    count: int = Field(..., description="Exactly how many customers match.")
    as_of: dt.datetime
    facts_rebuilt_at: dt.datetime | None = Field(..., description="Order figures are as of this rebuild.")
    sample: list[CustomerBrief]


class MemberOut(Schema):
    entered_at: dt.datetime
    left_at: dt.datetime | None
    customer: CustomerBrief


class MemberPage(Schema):
    items: list[MemberOut]
    count: int


class MemberQuery(PageQuery):
    sort: str = Field("-clv", description="name, entered, clv, p_alive, churn_risk, rfm_r, rfm_f, rfm_m, "
                                          "rfm_segment, value_class, total_paid, orders or last_order; '-' for "
                                          "descending.")


class HistoryQuery(PageQuery):
    kind: Literal["entered", "left"] = "entered"
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class SizeOut(Schema):
    at: dt.datetime
    as_of: dt.datetime
    size: int
    entered: int
    left: int


class RefreshIn(InputSchema):
    as_of: AsOf | None = None


class RefreshOut(Schema):
    segment_id: int
    size: int
    entered: int
    left: int
    seconds: float


class TagIn(InputSchema):
    tag: str = Field(..., min_length=1, max_length=50)


class OwnerIn(InputSchema):
    owner_id: int | None = Field(..., description="A member's user id; null removes the owner.")


class TasksIn(InputSchema):
    title: str = Field(..., min_length=1, max_length=200)
    due_on: dt.date
    kind: TaskKind = TaskKind.FOLLOW_UP
    assignee_id: int | None = None
    assign_to_customer_owner: bool = Field(False, description="Give each task to that customer's owner.")


class ChangedOut(Schema):
    changed: int


class CreatedOut(Schema):
    created: int


class ExportQuery(QuerySchema):
    format: Literal["csv", "xlsx"] = "csv"
