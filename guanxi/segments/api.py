"""Segments over the API: CRUD, a live preview of rules (count + sample), refresh, members with sortable scores,
who entered and left, sizes over time, bulk actions and exports.

Rule errors answer 400 with each problem under its path in the rule: `{"error": {…, "fields": {"all[1].any[0].op":
[…]}}}`. Another workspace's segment answers 404; a read-only role (analyst) gets 403 on every POST/PATCH/DELETE,
the preview included.
"""

import tempfile

from django.db import transaction
from django.http import FileResponse, StreamingHttpResponse
from ninja import Query, Router, Status

from guanxi.api.errors import ErrorOut
from guanxi.api.schemas import PageQuery, member_or_error, paginate, renamed_fields
from guanxi.segments import export
from guanxi.segments.schemas import (
    ChangedOut, CreatedOut, ExportQuery, HistoryQuery, MemberPage, MemberQuery, OwnerIn, PreviewIn, PreviewOut,
    RefreshIn, RefreshOut, SegmentIn, SegmentOut, SegmentPage, SegmentPatch, SizeOut, TagIn, TasksIn,
)
from guanxi.segments.selectors import (
    segment_changes, segment_get, segment_list, segment_members, segment_preview, segment_sizes,
)
from guanxi.segments.services import (
    segment_assign_owner, segment_create, segment_create_tasks, segment_delete, segment_refresh,
    segment_tag_members, segment_update,
)
from guanxi.workspaces.permissions import Perm, allowed
from guanxi.workspaces import tenancy

router = Router(tags=["segments"])

READ_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.get("", response={200: SegmentPage, **READ_ERRORS}, summary="List segments")
def list_segments(request, query: Query[PageQuery]):
    """Built-in segments first, then the workspace's own by name."""
    return paginate(segment_list(), query)


@router.post("/preview", response={200: PreviewOut, **WRITE_ERRORS}, summary="Count the customers rules match")
def preview_segment(request, payload: PreviewIn):
    """The exact count of matching customers and a sample of them, without saving anything."""
    return segment_preview(rules=payload.rules, as_of=payload.as_of, sample=payload.sample)


@router.post("", response={201: SegmentOut, **WRITE_ERRORS}, summary="Create a segment")
@transaction.atomic
def create_segment(request, payload: SegmentIn):
    """Saved and refreshed at once: `member_count` is the number of customers matching now (or as of `as_of`)."""
    owner = member_or_error(payload.owner_id, "owner_id") if payload.owner_id else request.user
    with renamed_fields({"owner": "owner_id"}):
        segment = segment_create(name=payload.name, description=payload.description, rules=payload.rules,
                                 owner=owner, as_of=payload.as_of)
    return Status(201, segment_get(segment.pk))


@router.get("/{int:segment_id}", response={200: SegmentOut, **READ_ERRORS}, summary="Get a segment")
def get_segment(request, segment_id: int):
    return segment_get(segment_id)


@router.patch("/{int:segment_id}", response={200: SegmentOut, **WRITE_ERRORS}, summary="Update a segment")
@transaction.atomic
def update_segment(request, segment_id: int, payload: SegmentPatch):
    """Changed rules refresh the membership at once. Built-in segments cannot be changed (400)."""
    segment = segment_get(segment_id)
    changes = payload.model_dump(exclude_unset=True)
    as_of = changes.pop("as_of", None)
    if "owner_id" in changes:
        changes["owner"] = member_or_error(changes.pop("owner_id"), "owner_id")
    with renamed_fields({"owner": "owner_id"}):
        segment_update(segment=segment, as_of=as_of, **changes)
    return segment_get(segment_id)


@router.delete("/{int:segment_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a segment")
def delete_segment(request, segment_id: int):
    segment_delete(segment=segment_get(segment_id))
    return Status(204, None)


@router.post("/{int:segment_id}/refresh", response={200: RefreshOut, **WRITE_ERRORS}, summary="Refresh a segment")
def refresh_segment(request, segment_id: int, payload: RefreshIn = None):
    """Recompute the membership now (or as of `as_of`): who entered, who left, the new size."""
    return segment_refresh(segment=segment_get(segment_id), as_of=payload.as_of if payload else None)


@router.get("/{int:segment_id}/members", response={200: MemberPage, **READ_ERRORS}, summary="List members")
def list_members(request, segment_id: int, query: Query[MemberQuery]):
    """Current members with their order figures and scores, sorted by `sort` (customers without a value last)."""
    return paginate(segment_members(segment_get(segment_id), sort=query.sort), query)


@router.get("/{int:segment_id}/history", response={200: MemberPage, **READ_ERRORS},
            summary="Who entered or left a segment")
def list_history(request, segment_id: int, query: Query[HistoryQuery]):
    """Stays that began (`kind=entered`) or ended (`kind=left`) in [since, until), newest first."""
    stays = segment_changes(segment_get(segment_id), kind=query.kind, since=query.since, until=query.until)
    return paginate(stays.select_related("customer__score", "customer__segment_facts"), query)


@router.get("/{int:segment_id}/sizes", response={200: list[SizeOut], **READ_ERRORS}, summary="Size over time")
def list_sizes(request, segment_id: int):
    """The size after each refresh (at most the last 365), oldest first."""
    return segment_sizes(segment_get(segment_id))


@router.post("/{int:segment_id}/tag", response={200: ChangedOut, **WRITE_ERRORS}, summary="Tag every member")
def tag_members(request, segment_id: int, payload: TagIn):
    return {"changed": segment_tag_members(segment=segment_get(segment_id), tag=payload.tag)}


@router.post("/{int:segment_id}/assign-owner", response={200: ChangedOut, **WRITE_ERRORS},
             summary="Assign an owner to every member")
def assign_owner(request, segment_id: int, payload: OwnerIn):
    segment = segment_get(segment_id)
    owner = member_or_error(payload.owner_id, "owner_id")
    return {"changed": segment_assign_owner(segment=segment, owner=owner)}


@router.post("/{int:segment_id}/tasks", response={201: CreatedOut, **WRITE_ERRORS},
             summary="Create a follow-up task for every member")
def create_tasks(request, segment_id: int, payload: TasksIn):
    """Members who already have an open task with this title get no second one."""
    segment = segment_get(segment_id)
    assignee = member_or_error(payload.assignee_id, "assignee_id")
    with renamed_fields({"assignee": "assignee_id"}):
        created = segment_create_tasks(
            segment=segment, title=payload.title, due_on=payload.due_on, kind=payload.kind, assignee=assignee,
            assign_to_customer_owner=payload.assign_to_customer_owner, created_by=request.user,
        )
    return Status(201, {"created": created})


@router.get("/{int:segment_id}/export", response={200: None, **READ_ERRORS}, summary="Export the members")
def export_members(request, segment_id: int, query: Query[ExportQuery]):
    """CSV (UTF-8 with BOM) or XLSX. Phones and addresses are masked for roles that may not see contact details;
    text that a spreadsheet would run as a formula starts with an apostrophe."""
    segment = segment_get(segment_id)
    see_contact = allowed(request.role, Perm.SEE_CONTACT)
    filename = f"segment-{segment.pk}.{query.format}"
    if query.format == "csv":
        # The body is produced after this view returns, when the workspace is no longer active: bind it.
        response = StreamingHttpResponse(
            _in_workspace(request.workspace, export.csv_chunks(segment, see_contact=see_contact)),
            content_type="text/csv; charset=utf-8")
    else:
        handle = tempfile.TemporaryFile()
        export.write_xlsx(segment, handle, see_contact=see_contact)
        handle.seek(0)
        response = FileResponse(
            handle, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response



def _in_workspace(workspace, chunks):
    with tenancy.active(workspace):
        yield from chunks
