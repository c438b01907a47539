"""Writes for interactions, opportunities and follow-up tasks, in the active workspace."""

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.activities.models import Interaction, Opportunity, Task, TaskStatus
from guanxi.customers.models import Customer
from guanxi.workspaces.models import Membership
from guanxi.workspaces.tenancy import current_workspace


def _check_member(user: AbstractBaseUser | None, field: str) -> None:
    if user is not None and not Membership.objects.filter(user=user).exists():
        raise ValidationError({field: _("Must be a member of this workspace.")})


def _save(obj, *, exclude=("workspace",)) -> None:
    obj.full_clean(exclude=list(exclude))
    obj.save()


def interaction_log(
    *, customer: Customer, summary: str, kind: str = "note", channel: str = "", body: str = "",
    occurred_at: dt.datetime | None = None, author: AbstractBaseUser | None = None,
) -> Interaction:
    """Record a conversation's key points, a call, an email or a note on the customer's timeline."""
    interaction = Interaction(
        workspace=current_workspace(), customer=customer, kind=kind, channel=channel, summary=summary.strip(),
        body=body, occurred_at=occurred_at or timezone.now(), author=author,
    )
    _save(interaction, exclude=("workspace", "author"))
    return interaction


def interaction_update(*, interaction: Interaction, **changes) -> Interaction:
    allowed = {"summary", "body", "kind", "channel", "occurred_at"}
    if unknown := set(changes) - allowed:
        raise ValidationError({field: _("Unknown field.") for field in unknown})
    for field, value in changes.items():
        setattr(interaction, field, value)
    _save(interaction, exclude=("workspace", "author"))
    return interaction


def opportunity_create(
    *, customer: Customer, title: str, stage: str = "lead", value=0, currency: str = "", expected_close=None,
    owner: AbstractBaseUser | None = None, note: str = "",
) -> Opportunity:
    _check_member(owner, "owner")
    opportunity = Opportunity(
        workspace=current_workspace(), customer=customer, title=title, stage=stage, value=value,
        currency=currency or current_workspace().currency, expected_close=expected_close, owner=owner, note=note,
    )
    _save(opportunity)
    return opportunity


def opportunity_update(*, opportunity: Opportunity, **changes) -> Opportunity:
    allowed = {"title", "stage", "value", "currency", "expected_close", "owner", "note"}
    if unknown := set(changes) - allowed:
        raise ValidationError({field: _("Unknown field.") for field in unknown})
    if "owner" in changes:
        _check_member(changes["owner"], "owner")
    for field, value in changes.items():
        setattr(opportunity, field, value)
    _save(opportunity)
    return opportunity


def task_create(
    *, customer: Customer, title: str, due_on: dt.date, kind: str = "follow_up",
    assignee: AbstractBaseUser | None = None, created_by: AbstractBaseUser | None = None,
) -> Task:
    """A follow-up (回访) for someone to do on or before `due_on` (a date in the workspace time zone)."""
    _check_member(assignee, "assignee")
    task = Task(
        workspace=current_workspace(), customer=customer, title=title.strip(), due_on=due_on, kind=kind,
        assignee=assignee, created_by=created_by,
    )
    _save(task, exclude=("workspace", "created_by"))
    return task


def task_update(*, task: Task, **changes) -> Task:
    allowed = {"title", "due_on", "kind", "assignee", "outcome", "status"}
    if unknown := set(changes) - allowed:
        raise ValidationError({field: _("Unknown field.") for field in unknown})
    if "assignee" in changes:
        _check_member(changes["assignee"], "assignee")
    for field, value in changes.items():
        setattr(task, field, value)
    if task.status == TaskStatus.DONE and task.completed_at is None:
        task.completed_at = timezone.now()
    elif task.status != TaskStatus.DONE:
        task.completed_at = None
    _save(task, exclude=("workspace", "created_by"))
    return task


def task_complete(*, task: Task, outcome: str = "") -> Task:
    """Mark a follow-up done with what came of it."""
    return task_update(task=task, status=TaskStatus.DONE, outcome=outcome)
