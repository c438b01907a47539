"""API shapes of interactions, follow-up tasks (回访) and opportunities."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from guanxi.activities.models import InteractionChannel, InteractionKind, OpportunityStage, TaskKind, TaskStatus
from guanxi.api.schemas import CustomerRef, DateTimeIn, InputSchema, MoneyIn, MoneyOut, PageQuery, UserRef

# --- interactions -------------------------------------------------------------------------------------------

# A channel, or "" when it does not matter (a note). One Literal, not a union, so errors name just the field.
ChannelOrBlank = Literal[("", *InteractionChannel.values)]


class InteractionIn(InputSchema):
    customer_id: int
    kind: InteractionKind = InteractionKind.NOTE
    channel: ChannelOrBlank = ""
    summary: str = Field(..., description="The key points.")
    body: str = ""
    occurred_at: DateTimeIn | None = Field(None, description="Default: now.")


class InteractionPatch(InputSchema):
    kind: InteractionKind = None
    channel: ChannelOrBlank = None
    summary: str = None
    body: str = None
    occurred_at: DateTimeIn = None


class InteractionOut(Schema):
    id: int
    customer: CustomerRef
    kind: str
    channel: str
    summary: str
    body: str
    occurred_at: dt.datetime
    author: UserRef | None
    created_at: dt.datetime
    updated_at: dt.datetime


class InteractionPage(Schema):
    items: list[InteractionOut]
    count: int


class InteractionQuery(PageQuery):
    customer: int | None = Field(None, description="Customer id.")
    kind: InteractionKind | None = None
    channel: InteractionChannel | None = None


# --- tasks --------------------------------------------------------------------------------------------------


class TaskIn(InputSchema):
    customer_id: int
    title: str
    due_on: dt.date = Field(..., description="A day in the workspace time zone.")
    kind: TaskKind = TaskKind.FOLLOW_UP
    assignee_id: int | None = Field(None, description="A member; when left out, the token's user. null: nobody.")


class TaskPatch(InputSchema):
    title: str = None
    due_on: dt.date = None
    kind: TaskKind = None
    assignee_id: int | None = None
    status: TaskStatus = None
    outcome: str = None


class TaskOut(Schema):
    id: int
    customer: CustomerRef
    title: str
    kind: str
    assignee: UserRef | None
    due_on: dt.date
    status: str
    outcome: str
    completed_at: dt.datetime | None
    created_by: UserRef | None
    created_at: dt.datetime
    updated_at: dt.datetime


class TaskPage(Schema):
    items: list[TaskOut]
    count: int


class TaskQuery(PageQuery):
    mine: bool = Field(False, description="Only tasks assigned to the token's user.")
    due: Literal["today", "overdue"] | None = Field(
        None, description="today: open tasks due today or earlier (the 'my follow-ups today' list); "
                          "overdue: open tasks due before today. Days are in the workspace time zone.")
    status: TaskStatus | None = None
    assignee: int | None = Field(None, description="Assignee user id.")
    customer: int | None = Field(None, description="Customer id.")


# --- opportunities ------------------------------------------------------------------------------------------


class OpportunityIn(InputSchema):
    customer_id: int
    title: str
    stage: OpportunityStage = OpportunityStage.LEAD
    value: MoneyIn = Decimal("0")
    currency: str = Field("", description="Default: the workspace currency.")
    expected_close: dt.date | None = None
    owner_id: int | None = Field(None, description="A member; when left out, the token's user. null: nobody.")
    note: str = ""


class OpportunityPatch(InputSchema):
    title: str = None
    stage: OpportunityStage = None
    value: MoneyIn = None
    currency: str = None
    expected_close: dt.date | None = None
    owner_id: int | None = None
    note: str = None


class OpportunityOut(Schema):
    id: int
    customer: CustomerRef
    title: str
    stage: str
    value: MoneyOut
    currency: str
    expected_close: dt.date | None
    owner: UserRef | None
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime


class OpportunityPage(Schema):
    items: list[OpportunityOut]
    count: int


class OpportunityQuery(PageQuery):
    stage: OpportunityStage | None = None
    customer: int | None = Field(None, description="Customer id.")
    owner: int | None = Field(None, description="Owner user id.")
