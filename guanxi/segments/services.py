"""Writes for segments: create, change and delete saved segments; refresh their membership; the built-in ones;
bulk actions on a segment's members. Every function acts in the active workspace.

Refreshing and bulk actions are set-based: each is a handful of SQL statements whatever the segment's size.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import zoneinfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from guanxi.activities.models import Task, TaskKind, TaskStatus
from guanxi.customers.models import Customer, CustomerTag
from guanxi.customers.services import tag_get_or_create
from guanxi.segments.builtin import BUILTIN_SEGMENTS
from guanxi.segments.facts import facts_rebuild
from guanxi.segments.models import Segment, SegmentMember, SegmentSize
from guanxi.segments.rules import RulesInvalid, compile_matches, resolve_as_of, validate_rules
from guanxi.segments.sql import counting, insert_select, matches_table
from guanxi.workspaces.models import Membership
from guanxi.workspaces.tenancy import current_workspace

logger = logging.getLogger("guanxi.segments")

_UNCHANGED = object()


def _check_owner(owner: AbstractBaseUser | None, field: str = "owner") -> None:
    if owner is not None and not Membership.objects.filter(user=owner).exists():
        raise ValidationError({field: _("Must be a member of this workspace.")})


def _refuse_builtin(segment: Segment) -> None:
    if segment.is_builtin:
        raise ValidationError(_("Built-in segments cannot be changed or deleted; copy the rules into a new one."))


def _validate(segment: Segment) -> None:
    errors: dict[str, list[str]] = {}
    try:
        segment.full_clean(exclude=["rules"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        validate_rules(segment.rules)
    except RulesInvalid as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


@dataclasses.dataclass(frozen=True)
class RefreshResult:
    segment_id: int
    size: int
    entered: int
    left: int
    seconds: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@transaction.atomic
def segment_create(
    *, name: str, rules: dict, description: str = "", owner: AbstractBaseUser | None = None,
    refresh: bool = True, as_of: dt.datetime | dt.date | None = None,
) -> Segment:
    """A saved segment; with `refresh` its membership is computed at once (as of `as_of`, default now).

    Raises ValidationError: name errors under "name", rule errors under their path in the rule (`all[1].op`).
    """
    _check_owner(owner)
    segment = Segment(workspace=current_workspace(), name=(name or "").strip(), description=description or "",
                      rules=rules, owner=owner)
    _validate(segment)
    segment.save()
    if refresh:
        segment_refresh(segment=segment, as_of=as_of)
    return segment


@transaction.atomic
def segment_update(
    *, segment: Segment, name=_UNCHANGED, description=_UNCHANGED, rules=_UNCHANGED, owner=_UNCHANGED,
    as_of: dt.datetime | dt.date | None = None,
) -> Segment:
    """Change what is given; changed rules refresh the membership (customers no longer matching leave)."""
    _refuse_builtin(segment)
    if name is not _UNCHANGED:
        segment.name = (name or "").strip()
    if description is not _UNCHANGED:
        segment.description = description or ""
    if owner is not _UNCHANGED:
        _check_owner(owner)
        segment.owner = owner
    rules_changed = rules is not _UNCHANGED and rules != segment.rules
    if rules is not _UNCHANGED:
        segment.rules = rules
    _validate(segment)
    segment.save()
    if rules_changed:
        segment_refresh(segment=segment, as_of=as_of)
    return segment


def segment_delete(*, segment: Segment) -> None:
    _refuse_builtin(segment)
    segment.delete()


@transaction.atomic
def segment_refresh(*, segment: Segment, as_of: dt.datetime | dt.date | None = None) -> RefreshResult:
    """Bring the membership up to date as of `as_of` (default now): customers who now match enter, those who no
    longer match leave; both are stamped with `as_of`, and the new size is recorded for the size chart.

    The rule runs once, into a temporary table of ids; leavers (one UPDATE) and newcomers (one INSERT … SELECT)
    are then set differences between integers, whatever the segment's size.
    """
    started = time.perf_counter()
    workspace = current_workspace()
    as_of = resolve_as_of(as_of, zoneinfo.ZoneInfo(workspace.time_zone))
    # One refresh of a segment at a time: a second waits here and then sees the first one's result.
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    matching = compile_matches(segment.rules, as_of=as_of)
    now = timezone.now()
    with counting(), matches_table(matching) as (table, size):
        left, entered = _apply_matches(segment, table, as_of=as_of, now=now)
    SegmentSize.objects.create(workspace=workspace, segment=segment, at=now, as_of=as_of, size=size,
                               entered=entered, left=left)
    Segment.objects.filter(pk=segment.pk).update(member_count=size, refreshed_at=now, refreshed_as_of=as_of,
                                                 refresh_error="", updated_at=now)
    return RefreshResult(segment.pk, size, entered, left, round(time.perf_counter() - started, 3))


def _apply_matches(segment: Segment, table: str, *, as_of: dt.datetime, now: dt.datetime) -> tuple[int, int]:
    """Close the stays of members not in `table`, open stays for ids in it that have none; (left, entered)."""
    field = SegmentMember._meta.get_field
    member_table = connection.ops.quote_name(SegmentMember._meta.db_table)
    as_of_db = field("entered_at").get_db_prep_save(as_of, connection)
    now_db = field("created_at").get_db_prep_save(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {member_table} SET left_at = %s, updated_at = %s "
            f"WHERE segment_id = %s AND left_at IS NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {table} m WHERE m.id = {member_table}.customer_id)",
            [as_of_db, now_db, segment.pk],
        )
        left = cursor.rowcount
        # In customer order: the (segment, customer) and customer indexes then grow at one end instead of at
        # random pages — a first refresh writes millions of rows.
        cursor.execute(
            f"INSERT INTO {member_table} (workspace_id, segment_id, customer_id, entered_at, left_at, created_at, "
            f"updated_at) SELECT %s, %s, m.id, %s, NULL, %s, %s FROM {table} m WHERE NOT EXISTS ("
            f"SELECT 1 FROM {member_table} s WHERE s.segment_id = %s AND s.left_at IS NULL AND s.customer_id = m.id) "
            f"ORDER BY m.id",
            [segment.workspace_id, segment.pk, as_of_db, now_db, now_db, segment.pk],
        )
        entered = cursor.rowcount
    return left, entered


def segments_ensure_builtin() -> list[Segment]:
    """Create the built-in segments the active workspace lacks (and bring their rules up to date); idempotent.

    Stored names are English; pages show built-in segments in the reader's language.
    """
    workspace = current_workspace()
    existing = {s.builtin_key: s for s in Segment.objects.exclude(builtin_key="")}
    segments = []
    with transaction.atomic(), override("en"):
        for builtin in BUILTIN_SEGMENTS:
            segment = existing.get(builtin.key)
            if segment is None:
                segment = Segment.objects.create(
                    workspace=workspace, builtin_key=builtin.key, name=str(builtin.label),
                    description=str(builtin.description), rules=builtin.rules,
                )
            elif segment.rules != builtin.rules or segment.name != str(builtin.label):
                segment.rules, segment.name = builtin.rules, str(builtin.label)
                segment.description = str(builtin.description)
                segment.save(update_fields=["rules", "name", "description", "updated_at"])
            segments.append(segment)
    return segments


def segments_refresh_all(*, as_of: dt.datetime | dt.date | None = None, rebuild_facts: bool = True) -> dict:
    """Refresh everything segments read, then every saved segment of the active workspace, as of `as_of`.

    Call it after an import or an analytics refresh; the nightly job and "refresh all" call it too. Rebuilds the
    order figures (CustomerFacts) unless `rebuild_facts` is False, creates missing built-in segments, and
    refreshes each segment in its own transaction: one whose rules no longer validate (say, a deleted custom
    field) keeps its last membership and records why. Returns a JSON-ready summary.
    """
    started = time.perf_counter()
    workspace = current_workspace()
    as_of = resolve_as_of(as_of, zoneinfo.ZoneInfo(workspace.time_zone))
    summary: dict = {"as_of": as_of.isoformat(), "facts": None, "segments": [], "failed": []}
    if rebuild_facts:
        summary["facts"] = facts_rebuild()
    segments_ensure_builtin()
    for segment in Segment.objects.order_by("id"):
        try:
            result = segment_refresh(segment=segment, as_of=as_of)
        except ValidationError as exc:
            message = "; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in exc.message_dict.items()) \
                if hasattr(exc, "error_dict") else " ".join(exc.messages)
            Segment.objects.filter(pk=segment.pk).update(refresh_error=message[:2000], updated_at=timezone.now())
            summary["failed"].append({"segment_id": segment.pk, "error": message})
            logger.warning("segment %s of %s not refreshed: %s", segment.pk, workspace.slug, message)
            continue
        summary["segments"].append(result.as_dict())
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


# Bulk actions on the current members --------------------------------------------------------------------------


def _member_ids(segment: Segment):
    return SegmentMember.objects.filter(segment=segment, left_at__isnull=True).order_by()


@transaction.atomic
def segment_tag_members(*, segment: Segment, tag: str) -> int:
    """Give every current member the tag `tag` (created if new); returns how many customers newly got it."""
    tag_obj = tag_get_or_create(name=tag)
    untagged = _member_ids(segment).filter(
        ~Exists(CustomerTag.objects.filter(tag=tag_obj, customer_id=OuterRef("customer_id")))
    ).values_list("customer_id")
    now = timezone.now()
    return insert_select(CustomerTag, ("customer",), untagged,
                         {"workspace": segment.workspace_id, "tag": tag_obj.pk, "created_at": now, "updated_at": now})


@transaction.atomic
def segment_assign_owner(*, segment: Segment, owner: AbstractBaseUser | None) -> int:
    """Make `owner` (a member; None to unassign) the owner of every current member; returns customers changed."""
    _check_owner(owner)
    customers = Customer.objects.filter(pk__in=_member_ids(segment).values("customer_id"))
    customers = customers.exclude(owner=owner) if owner is not None else customers.filter(owner__isnull=False)
    return customers.update(owner=owner, updated_at=timezone.now())


@transaction.atomic
def segment_create_tasks(
    *, segment: Segment, title: str, due_on: dt.date, kind: str = TaskKind.FOLLOW_UP,
    assignee: AbstractBaseUser | None = None, assign_to_customer_owner: bool = False,
    created_by: AbstractBaseUser | None = None,
) -> int:
    """A follow-up task for every current member, due on `due_on`, assigned to `assignee` or (with
    `assign_to_customer_owner`) to each customer's own owner. A member who already has an open task with the same
    title gets no second one, so pressing the button twice is harmless. Returns how many tasks were created.
    """
    title = (title or "").strip()
    errors = {}
    if not title:
        errors["title"] = [_("A task needs a title.")]
    elif len(title) > 200:
        errors["title"] = [_("At most 200 characters.")]
    if kind not in TaskKind.values:
        errors["kind"] = [_("Unknown task kind.")]
    if not isinstance(due_on, dt.date):
        errors["due_on"] = [_("Enter a date.")]
    if errors:
        raise ValidationError(errors)
    _check_owner(assignee, "assignee")
    now = timezone.now()
    members = _member_ids(segment).filter(
        ~Exists(Task.objects.filter(customer_id=OuterRef("customer_id"), status=TaskStatus.OPEN, title=title))
    )
    constants = {
        "workspace": segment.workspace_id, "title": title, "kind": kind, "due_on": due_on,
        "status": TaskStatus.OPEN, "outcome": "", "created_by": getattr(created_by, "pk", None),
        "created_at": now, "updated_at": now,
    }
    if assign_to_customer_owner:
        rows = members.values_list("customer_id", "customer__owner_id")
        return insert_select(Task, ("customer", "assignee"), rows, constants)
    constants["assignee"] = getattr(assignee, "pk", None)
    return insert_select(Task, ("customer",), members.values_list("customer_id"), constants)
