"""Merging duplicate customers over the API: merge, history, undo (mounted under /customers)."""

import datetime as dt

from django.db import transaction
from ninja import Router, Schema, Status

from guanxi.api.errors import ErrorOut
from guanxi.api.input_limits import BoundedSchema
from guanxi.api.schemas import CustomerRef, UserRef, object_or_error
from guanxi.customers.merge import customer_merge, customer_merge_undo, merge_history, merge_to_undo
from guanxi.customers.models import Customer, CustomerMerge

router = Router(tags=["customers"])

READ_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class MergeIn(BoundedSchema):
    absorb_id: int


class MergeOut(Schema):
    id: int
    kept: CustomerRef
    absorbed: CustomerRef
    merged_by: UserRef | None
    created_at: dt.datetime
    undone_at: dt.datetime | None
    undone_by: UserRef | None
    moved: dict[str, int]

    @staticmethod
    def resolve_moved(obj: CustomerMerge) -> dict[str, int]:
        """How many rows of each kind moved to the kept customer."""
        return {key: len(ids) for key, ids in (obj.moved or {}).items()}


class MergePage(Schema):
    items: list[MergeOut]
    count: int


def _merge_out(merge: CustomerMerge) -> CustomerMerge:
    return CustomerMerge.objects.select_related("kept", "absorbed", "merged_by", "undone_by").get(pk=merge.pk)


@router.post("/{int:customer_id}/merge", response={201: MergeOut, **WRITE_ERRORS},
             summary="Merge a duplicate into this customer")
@transaction.atomic
def merge_customer(request, customer_id: int, payload: MergeIn):
    """The customer `absorb_id` is folded into this one: identities, orders, interactions, tasks, opportunities,
    tags, consents and custom values move; the duplicate is hidden from lists. Undo with POST …/unmerge on it."""
    keep = Customer.objects.get(pk=customer_id)
    absorb = object_or_error(Customer, payload.absorb_id, "absorb_id")
    return Status(201, _merge_out(customer_merge(keep=keep, absorb=absorb, by=request.user)))


@router.get("/{int:customer_id}/merges", response={200: MergePage, **READ_ERRORS},
            summary="Merges this customer took part in")
def list_customer_merges(request, customer_id: int):
    merges = merge_history(customer=Customer.objects.get(pk=customer_id))
    return {"items": merges, "count": len(merges)}


@router.post("/{int:customer_id}/unmerge", response={200: MergeOut, **WRITE_ERRORS},
             summary="Undo the merge that absorbed this customer")
@transaction.atomic
def unmerge_customer(request, customer_id: int):
    """Every row the merge moved goes back to this customer; rows added to the kept one since stay there."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    absorbed = Customer.objects.get(pk=customer_id)
    try:
        merge = merge_to_undo(absorbed=absorbed)
    except CustomerMerge.DoesNotExist:
        raise ValidationError(_("Customer #%(id)s is not merged into another customer.") % {"id": customer_id})
    return _merge_out(customer_merge_undo(merge=merge, by=request.user))
