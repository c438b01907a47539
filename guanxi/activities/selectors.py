"""Reads for tasks and opportunities."""

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from guanxi.activities.models import Task, TaskStatus
from guanxi.workspaces.tenancy import workspace_today


def task_list(*, assignee: AbstractBaseUser | None = None, status: str | None = TaskStatus.OPEN,
              due_by: dt.date | None = None) -> QuerySet[Task]:
    tasks = Task.objects.select_related("customer", "assignee")
    if assignee is not None:
        tasks = tasks.filter(assignee=assignee)
    if status:
        tasks = tasks.filter(status=status)
    if due_by is not None:
        tasks = tasks.filter(due_on__lte=due_by)
    return tasks


def my_follow_ups_today(user: AbstractBaseUser, *, now: dt.datetime | None = None) -> QuerySet[Task]:
    """The user's open follow-ups due today or overdue (today in the workspace time zone)."""
    return task_list(assignee=user, due_by=workspace_today(now))
