"""Segment pages: the list, the rule builder with its live preview (htmx), a segment's members, history and size
chart, bulk actions and exports.

Views parse input, check the role, call one service or selector and render. Segments are fetched through the
fail-closed tenant managers, so another workspace's id answers 404.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.activities.models import TaskKind
from guanxi.commerce.models import Product
from guanxi.customers.models import CustomField, Tag
from guanxi.segments import export
from guanxi.segments.describe import describe_rules
from guanxi.segments.models import Segment
from guanxi.segments.rules import RulesInvalid
from guanxi.segments.selectors import (
    MEMBER_SORTS, PREVIEW_SAMPLE, family_labels, field_catalogue, member_sort, segment_changes, segment_list,
    segment_members, segment_preview, segment_sizes,
)
from guanxi.segments.services import (
    segment_assign_owner, segment_create, segment_create_tasks, segment_delete, segment_refresh,
    segment_tag_members, segment_update, segments_refresh_all,
)
from guanxi.web.collation import sorted_by_name
from guanxi.web.decorators import member_required
from guanxi.web.paging import paginate
from guanxi.workspaces.models import Membership, Store
from guanxi.workspaces.permissions import Perm, allowed
from guanxi.workspaces.tenancy import workspace_today

PER_PAGE = 50
DEFAULT_RULES = {"all": [{"field": "orders_count", "op": ">=", "value": 1}]}
HISTORY_DAYS = (1, 7, 30, 90)
BUILTIN_PREFIXES = ("rfm.", "value.", "lifecycle.", "high_value")


def _segment(segment_id: int) -> Segment:
    try:
        return Segment.objects.select_related("owner").get(pk=segment_id)
    except Segment.DoesNotExist:
        raise Http404 from None


def _custom_labels() -> dict[str, str]:
    return {f"custom.{key}": label for key, label in CustomField.objects.values_list("key", "label")}


@member_required()
def segment_index(request):
    # In the reader's language order (pinyin in Chinese): the catalogue's codes are not an order anyone reads.
    segments = sorted_by_name(segment_list(), lambda s: str(s.display_name))
    labels = _custom_labels()
    for segment in segments:
        segment.rules_text = describe_rules(segment.rules, labels)
    group_titles = {"rfm.": _("RFM segments"), "value.": _("Value classes"), "lifecycle.": _("Lifecycle stages"),
                    "high_value": _("Watch lists")}
    groups = [{"title": _("My segments"), "segments": [s for s in segments if not s.is_builtin], "custom": True}]
    for prefix in BUILTIN_PREFIXES:
        groups.append({"title": group_titles[prefix],
                       "segments": [s for s in segments if s.builtin_key.startswith(prefix)]})
    return render(request, "segments/segment_list.html", {"nav_section": "segments", "groups": groups,
                                                          "has_builtin": any(s.is_builtin for s in segments)})


def _builder_context(request, *, segment: Segment | None, rules, name="", description="", errors=None) -> dict:
    stores = list(Store.objects.values_list("name", flat=True))
    members = [{"value": m.user.username, "label": m.user.get_full_name() or m.user.username}
               for m in Membership.objects.select_related("user")]
    products = Product.objects.order_by()
    suggestions = {
        "tags": list(Tag.objects.values_list("name", flat=True)[:500]),
        "owners": [m["value"] for m in members],
        "stores": stores,
        "skus": list(products.values_list("sku", flat=True)[:500]),
        "categories": sorted({c for c in products.exclude(category="").values_list("category", flat=True)[:2000]}),
    }
    strings = {
        "all": _("All of these are true (AND)"), "any": _("Any of these is true (OR)"),
        "addCondition": _("Add condition"), "addGroup": _("Add group"), "remove": _("Remove"),
        "removeGroup": _("Remove group"), "days": _("days"), "and": _("and"),
        "commaHint": _("Separate values with commas"), "withinDays": _("in the last … days (optional)"),
        "yes": _("yes"), "no": _("no"), "empty": _("This group is empty: it matches every customer."),
        "emptyAny": _("This group is empty: it matches nobody."), "field": _("Field"), "operator": _("Operator"),
        "value": _("Value"),
    }
    return {
        "nav_section": "segments",
        "segment": segment,
        "name": name,
        "description": description,
        "rules_json": json.dumps(rules, ensure_ascii=False),
        "builder_data": {"fields": field_catalogue(), "families": family_labels(), "suggest": suggestions,
                         "strings": strings, "rules": rules},
        "errors": errors or {},
        "root_errors": (errors or {}).get("__all__", []),
    }


def _rules_from_post(request):
    try:
        rules = json.loads(request.POST.get("rules") or "null")
    except json.JSONDecodeError:
        rules = None
    return rules


def _save(request, *, segment: Segment | None):
    rules = _rules_from_post(request)
    name = request.POST.get("name", "").strip()
    description = request.POST.get("description", "").strip()
    try:
        if segment is None:
            segment = segment_create(name=name, description=description, rules=rules, owner=request.user)
            messages.success(request, _("Segment “%(name)s” saved with %(count)s customers.")
                             % {"name": segment.name, "count": Segment.objects.get(pk=segment.pk).member_count})
        else:
            segment_update(segment=segment, name=name, description=description, rules=rules)
            messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        context = _builder_context(request, segment=segment, rules=rules if isinstance(rules, dict) else
                                   DEFAULT_RULES, name=name, description=description, errors=errors)
        return render(request, "segments/segment_builder.html", context, status=400)
    return redirect("segments:detail", segment_id=segment.pk)


@member_required(Perm.WRITE)
def segment_new(request):
    if request.method == "POST":
        return _save(request, segment=None)
    rules = DEFAULT_RULES
    copy_of = request.GET.get("from")
    name = ""
    if copy_of and copy_of.isdigit():
        original = _segment(int(copy_of))
        rules, name = original.rules, _("Copy of %(name)s") % {"name": original.display_name}
    return render(request, "segments/segment_builder.html",
                  _builder_context(request, segment=None, rules=rules, name=name))


@member_required(Perm.WRITE)
def segment_edit(request, segment_id: int):
    segment = _segment(segment_id)
    if segment.is_builtin:
        messages.info(request, _("Built-in segments cannot be changed; this is a copy you can save as your own."))
        return redirect(f"{reverse('segments:new')}?from={segment.pk}")
    if request.method == "POST":
        return _save(request, segment=segment)
    return render(request, "segments/segment_builder.html", _builder_context(
        request, segment=segment, rules=segment.rules, name=segment.name, description=segment.description))


@member_required()
@require_POST
def segment_preview_view(request):
    """The live count and sample while rules are edited (htmx); errors come back keyed by their path in the rule."""
    rules = _rules_from_post(request)
    context = {"errors": {}, "errors_json": "{}", "preview": None,
               "can_see_contact": allowed(request.role, Perm.SEE_CONTACT)}
    try:
        context["preview"] = segment_preview(rules=rules, sample=PREVIEW_SAMPLE)
    except RulesInvalid as error:
        context["errors"] = error.message_dict
    context["errors_json"] = context["errors"]
    return render(request, "segments/_preview.html", context)


@member_required()
def segment_detail(request, segment_id: int):
    segment = _segment(segment_id)
    tab = request.GET.get("tab", "members")
    sort = member_sort(request.GET.get("sort", ""))
    context = {
        "nav_section": "segments", "segment": segment, "tab": tab, "sort": sort,
        "rules_text": describe_rules(segment.rules, _custom_labels()),
        "sizes": [{"as_of": s.as_of.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M"),
                   "size": s.size, "entered": s.entered, "left": s.left} for s in segment_sizes(segment)],
        "sort_keys": list(MEMBER_SORTS), "history_days": HISTORY_DAYS,
        "members_list": [{"value": m.user_id, "label": m.user.get_full_name() or m.user.username}
                         for m in Membership.objects.select_related("user")],
        "task_kinds": TaskKind.choices, "today": workspace_today(),
    }
    if tab in ("entered", "left"):
        try:
            days = int(request.GET.get("days", 7))
        except ValueError:
            days = 7
        days = days if days in HISTORY_DAYS else 7
        since = timezone.now() - dt.timedelta(days=days)
        stays = segment_changes(segment, kind=tab, since=since).select_related("customer__score",
                                                                                "customer__segment_facts")
        context.update(days=days, page=paginate(stays, request, per_page=PER_PAGE))
    else:
        context["tab"] = "members"
        context["page"] = paginate(segment_members(segment, sort=sort), request, per_page=PER_PAGE)
    return render(request, "segments/segment_detail.html", context)


@member_required(Perm.WRITE)
@require_POST
def segment_refresh_view(request, segment_id: int):
    segment = _segment(segment_id)
    try:
        result = segment_refresh(segment=segment)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Refreshed: %(size)s members, %(entered)s entered, %(left)s left.")
                         % {"size": result.size, "entered": result.entered, "left": result.left})
    return redirect("segments:detail", segment_id=segment.pk)


@member_required(Perm.WRITE)
@require_POST
def segments_refresh_all_view(request):
    summary = segments_refresh_all()
    messages.success(request, _("Order figures rebuilt and %(n)s segments refreshed in %(s)s s.")
                     % {"n": len(summary["segments"]), "s": summary["seconds"]})
    for failure in summary["failed"]:
        messages.error(request, _("Segment %(id)s was not refreshed: %(error)s")
                       % {"id": failure["segment_id"], "error": failure["error"]})
    return redirect("segments:index")


@member_required(Perm.WRITE)
@require_POST
def segment_delete_view(request, segment_id: int):
    segment = _segment(segment_id)
    try:
        segment_delete(segment=segment)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("segments:detail", segment_id=segment.pk)
    messages.success(request, _("Segment “%(name)s” deleted.") % {"name": segment.name})
    return redirect("segments:index")


def _member_user(user_id: str):
    if not user_id:
        return None
    membership = Membership.objects.select_related("user").filter(user_id=user_id).first()
    if membership is None:
        raise ValidationError(_("Choose a member of this workspace."))
    return membership.user


@member_required(Perm.WRITE)
@require_POST
def segment_action(request, segment_id: int):
    """Bulk actions on every current member: tag, assign an owner, create follow-up tasks."""
    segment = _segment(segment_id)
    action = request.POST.get("action")
    try:
        if action == "tag":
            n = segment_tag_members(segment=segment, tag=request.POST.get("tag", ""))
            messages.success(request, _("Tagged %(n)s customers.") % {"n": n})
        elif action == "owner":
            n = segment_assign_owner(segment=segment, owner=_member_user(request.POST.get("owner", "")))
            messages.success(request, _("Owner changed for %(n)s customers.") % {"n": n})
        elif action == "tasks":
            try:
                due_on = dt.date.fromisoformat(request.POST.get("due_on", ""))
            except ValueError:
                raise ValidationError(_("Enter a due date.")) from None
            assignee_choice = request.POST.get("assignee", "")
            n = segment_create_tasks(
                segment=segment, title=request.POST.get("title", ""), due_on=due_on,
                kind=request.POST.get("kind") or TaskKind.FOLLOW_UP,
                assignee=None if assignee_choice in ("", "customer_owner") else _member_user(assignee_choice),
                assign_to_customer_owner=assignee_choice == "customer_owner", created_by=request.user,
            )
            messages.success(request, _("Created %(n)s follow-up tasks.") % {"n": n})
        else:
            raise Http404
    except ValidationError as error:
        text = "; ".join(" ".join(v) for v in error.message_dict.values()) if hasattr(error, "error_dict") \
            else " ".join(error.messages)
        messages.error(request, text)
    return redirect("segments:detail", segment_id=segment.pk)


@member_required()
def segment_export(request, segment_id: int, fmt: str):
    segment = _segment(segment_id)
    if fmt not in export.FORMATS:
        raise Http404
    see_contact = allowed(request.role, Perm.SEE_CONTACT)
    stamp = workspace_today().isoformat()
    filename = f"segment-{segment.pk}-{stamp}.{fmt}"
    if fmt == "csv":
        workspace = request.workspace
        response = StreamingHttpResponse(_in_workspace(workspace, export.csv_chunks(segment, see_contact=see_contact)),
                                         content_type="text/csv; charset=utf-8")
    else:
        handle = tempfile.TemporaryFile()
        export.write_xlsx(segment, handle, see_contact=see_contact)
        handle.seek(0)
        response = FileResponse(handle, content_type="application/vnd.openxmlformats-officedocument."
                                                     "spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _in_workspace(workspace, chunks):
    # A streamed body is produced after the middleware has deactivated the workspace.
    from guanxi.workspaces import tenancy

    with tenancy.active(workspace):
        yield from chunks
