"""Follow-up tasks (回访): mine or everyone's, due today or overdue, completed in place with an outcome."""

from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from guanxi.activities import services
from guanxi.activities.forms import TaskCompleteForm
from guanxi.activities.models import Task, TaskStatus
from guanxi.activities.selectors import task_list as select_tasks
from guanxi.web.decorators import member_required
from guanxi.web.paging import paginate
from guanxi.workspaces.permissions import Perm
from guanxi.workspaces.tenancy import workspace_today

SCOPES = ("mine", "all")
DUES = ("today", "overdue", "any")
STATUSES = ("open", "done")


def _choice(request, name: str, options: tuple[str, ...]) -> str:
    value = request.GET.get(name, options[0])
    return value if value in options else options[0]


@member_required()
def task_list(request):
    scope = _choice(request, "scope", SCOPES)
    due = _choice(request, "due", DUES)
    status = _choice(request, "status", STATUSES)
    today = workspace_today()
    tasks = select_tasks(assignee=request.user if scope == "mine" else None,
                         status=TaskStatus.OPEN if status == "open" else TaskStatus.DONE)
    if due == "today":
        tasks = tasks.filter(due_on__lte=today)  # due today, and anything overdue that is still waiting
    elif due == "overdue":
        tasks = tasks.filter(due_on__lt=today)
    if status == "done":
        tasks = tasks.order_by("-completed_at", "-id")
    return render(request, "activities/task_list.html", {
        "page": paginate(tasks, request, per_page=50),
        "scope": scope, "due": due, "status": status, "today": today,
    })


@require_POST
@member_required(Perm.WRITE)
def task_complete(request, task_id: int):
    """Mark a follow-up done with its outcome; htmx swaps the row (or the 360 card) for its done state."""
    task = get_object_or_404(Task.objects.select_related("customer", "assignee"), pk=task_id)
    form = TaskCompleteForm(request.POST)
    if form.is_valid() and task.status == TaskStatus.OPEN:
        services.task_complete(task=task, outcome=form.cleaned_data["outcome"].strip())
    layout = "card" if request.POST.get("layout") == "card" else "row"
    if request.htmx:
        template = "activities/_task_card.html" if layout == "card" else "activities/_task_row.html"
        return render(request, template, {"task": task, "today": workspace_today()})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("web:task_list")
    return HttpResponseRedirect(target)
