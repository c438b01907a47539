"""The at-risk plan's one click: a win-back task per at-risk customer, shared out among the sales and service
staff in turn, with the reason ("bought every 40 days, silent for 95") in the task's title."""

from __future__ import annotations

import datetime as dt
import itertools

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from guanxi.activities.models import Task, TaskKind, TaskStatus
from guanxi.activities.services import task_create
from guanxi.customers.models import Customer
from guanxi.insight.selectors import at_risk_list
from guanxi.workspaces.models import Membership, Role

STAFF_ROLES = (Role.SALES, Role.SERVICE)


def at_risk_tasks_create(*, due_on: dt.date, created_by: AbstractBaseUser | None = None,
                         customer_ids: list[int] | None = None) -> list[Task]:
    """A visit (回访) task for each customer on the at-risk list (or the listed ones among them), assigned
    round-robin over the workspace's sales and service members in username order. A customer who already has
    an open visit task gets no second one, so pressing the button twice is harmless. Returns the new tasks."""
    staff = [m.user for m in Membership.objects.filter(role__in=STAFF_ROLES).select_related("user")
             .order_by("user__username")]
    if not staff:
        raise ValidationError(_("No sales or service member to assign the follow-ups to."))
    at_risk = at_risk_list(limit=None)
    if at_risk.is_empty():
        return []
    if customer_ids is not None:
        at_risk = at_risk.filter(at_risk["customer_id"].is_in(customer_ids))
    busy = set(Task.objects.filter(customer_id__in=at_risk["customer_id"].to_list(), status=TaskStatus.OPEN,
                                   kind=TaskKind.VISIT).values_list("customer_id", flat=True))
    reason_column = "reason_zh" if (get_language() or "").startswith("zh") else "reason_en"
    customers = Customer.objects.in_bulk(at_risk["customer_id"].to_list())
    assignees = itertools.cycle(staff)
    created = []
    with transaction.atomic():
        for row in at_risk.iter_rows(named=True):
            if row["customer_id"] in busy or row["customer_id"] not in customers:
                continue
            title = _("Win back: %(reason)s") % {"reason": row[reason_column]}
            created.append(task_create(customer=customers[row["customer_id"]], title=title[:200], due_on=due_on,
                                       kind=TaskKind.VISIT, assignee=next(assignees), created_by=created_by))
    return created
