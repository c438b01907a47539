"""Interactions, follow-up tasks and opportunities over the API: list with filters, get, create, update."""

import datetime as dt

from django.db import transaction
from ninja import Query, Router, Status

from guanxi.activities.models import Interaction, Opportunity, Task, TaskStatus
from guanxi.activities.schemas import (
    InteractionIn, InteractionOut, InteractionPage, InteractionPatch, InteractionQuery, OpportunityIn,
    OpportunityOut, OpportunityPage, OpportunityPatch, OpportunityQuery, TaskIn, TaskOut, TaskPage, TaskPatch,
    TaskQuery,
)
from guanxi.activities.selectors import task_list
from guanxi.activities.services import (
    interaction_log, interaction_update, opportunity_create, opportunity_update, task_create, task_update,
)
from guanxi.api.errors import ErrorOut
from guanxi.api.schemas import member_or_error, object_or_error, paginate, renamed_fields
from guanxi.customers.models import Customer
from guanxi.workspaces.tenancy import workspace_today

READ_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}

interactions = Router(tags=["interactions"])
tasks = Router(tags=["tasks"])
opportunities = Router(tags=["opportunities"])


def _user_field(payload, changes: dict, field: str, *, default_user=None) -> None:
    """Turn `<field>_id` of a payload into the member object under `<field>` (a field error if not a member)."""
    key = f"{field}_id"
    value = changes.pop(key, None)
    if key in payload.model_fields_set:
        changes[field] = member_or_error(value, key)
    elif default_user is not None:
        changes[field] = default_user


# --- interactions -------------------------------------------------------------------------------------------


def _interactions():
    return Interaction.objects.select_related("customer", "author")


@interactions.get("", response={200: InteractionPage, **READ_ERRORS}, summary="List interactions")
def list_interactions(request, query: Query[InteractionQuery]):
    """Most recent first."""
    found = _interactions()
    if query.customer is not None:
        found = found.filter(customer_id=query.customer)
    if query.kind:
        found = found.filter(kind=query.kind)
    if query.channel:
        found = found.filter(channel=query.channel)
    return paginate(found, query)


@interactions.get("/{int:interaction_id}", response={200: InteractionOut, **READ_ERRORS},
                  summary="Get an interaction")
def get_interaction(request, interaction_id: int):
    return _interactions().get(pk=interaction_id)


@interactions.post("", response={201: InteractionOut, **WRITE_ERRORS}, summary="Log an interaction")
def create_interaction(request, payload: InteractionIn):
    """A conversation's key points, a call, an email or a note; the token's user is the author."""
    customer = object_or_error(Customer, payload.customer_id, "customer_id")
    fields = payload.model_dump(exclude={"customer_id"}, exclude_none=True)
    interaction = interaction_log(customer=customer, author=request.auth.user, **fields)
    return Status(201, _interactions().get(pk=interaction.pk))


@interactions.patch("/{int:interaction_id}", response={200: InteractionOut, **WRITE_ERRORS},
                    summary="Update an interaction")
def update_interaction(request, interaction_id: int, payload: InteractionPatch):
    interaction = Interaction.objects.get(pk=interaction_id)
    changes = payload.model_dump(exclude_unset=True)
    if changes:
        interaction_update(interaction=interaction, **changes)
    return _interactions().get(pk=interaction.pk)


# --- tasks --------------------------------------------------------------------------------------------------


def _tasks():
    return Task.objects.select_related("customer", "assignee", "created_by")


@tasks.get("", response={200: TaskPage, **READ_ERRORS}, summary="List follow-up tasks")
def list_tasks(request, query: Query[TaskQuery]):
    """By due day. `?mine=true&due=today` is the "my follow-ups today" list of the web UI."""
    status = query.status
    due_by = None
    if query.due is not None:
        today = workspace_today()
        due_by = today if query.due == "today" else today - dt.timedelta(days=1)
        status = status or TaskStatus.OPEN
    found = task_list(assignee=request.auth.user if query.mine else None, status=status, due_by=due_by)
    found = found.select_related("created_by")
    if query.assignee is not None:
        found = found.filter(assignee_id=query.assignee)
    if query.customer is not None:
        found = found.filter(customer_id=query.customer)
    return paginate(found, query)


@tasks.get("/{int:task_id}", response={200: TaskOut, **READ_ERRORS}, summary="Get a task")
def get_task(request, task_id: int):
    return _tasks().get(pk=task_id)


@tasks.post("", response={201: TaskOut, **WRITE_ERRORS}, summary="Create a follow-up task")
def create_task(request, payload: TaskIn):
    customer = object_or_error(Customer, payload.customer_id, "customer_id")
    fields = payload.model_dump(exclude={"customer_id"})
    _user_field(payload, fields, "assignee", default_user=request.auth.user)
    with renamed_fields({"assignee": "assignee_id"}):
        task = task_create(customer=customer, created_by=request.auth.user, **fields)
    return Status(201, _tasks().get(pk=task.pk))


@tasks.patch("/{int:task_id}", response={200: TaskOut, **WRITE_ERRORS}, summary="Update or complete a task")
@transaction.atomic
def update_task(request, task_id: int, payload: TaskPatch):
    """Setting status to done records when; the outcome says what came of the follow-up."""
    task = Task.objects.select_for_update().get(pk=task_id)
    changes = payload.model_dump(exclude_unset=True)
    _user_field(payload, changes, "assignee")
    if changes:
        with renamed_fields({"assignee": "assignee_id"}):
            task_update(task=task, **changes)
    return _tasks().get(pk=task.pk)


# --- opportunities ------------------------------------------------------------------------------------------


def _opportunities():
    return Opportunity.objects.select_related("customer", "owner")


@opportunities.get("", response={200: OpportunityPage, **READ_ERRORS}, summary="List opportunities")
def list_opportunities(request, query: Query[OpportunityQuery]):
    """By expected close date."""
    found = _opportunities()
    if query.stage:
        found = found.filter(stage=query.stage)
    if query.customer is not None:
        found = found.filter(customer_id=query.customer)
    if query.owner is not None:
        found = found.filter(owner_id=query.owner)
    return paginate(found, query)


@opportunities.get("/{int:opportunity_id}", response={200: OpportunityOut, **READ_ERRORS},
                   summary="Get an opportunity")
def get_opportunity(request, opportunity_id: int):
    return _opportunities().get(pk=opportunity_id)


@opportunities.post("", response={201: OpportunityOut, **WRITE_ERRORS}, summary="Create an opportunity")
def create_opportunity(request, payload: OpportunityIn):
    customer = object_or_error(Customer, payload.customer_id, "customer_id")
    fields = payload.model_dump(exclude={"customer_id"})
    _user_field(payload, fields, "owner", default_user=request.auth.user)
    with renamed_fields({"owner": "owner_id"}):
        opportunity = opportunity_create(customer=customer, **fields)
    return Status(201, _opportunities().get(pk=opportunity.pk))


@opportunities.patch("/{int:opportunity_id}", response={200: OpportunityOut, **WRITE_ERRORS},
                     summary="Update an opportunity (move its stage)")
@transaction.atomic
def update_opportunity(request, opportunity_id: int, payload: OpportunityPatch):
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity_id)
    changes = payload.model_dump(exclude_unset=True)
    _user_field(payload, changes, "owner")
    if changes:
        with renamed_fields({"owner": "owner_id"}):
            opportunity_update(opportunity=opportunity, **changes)
    return _opportunities().get(pk=opportunity.pk)
