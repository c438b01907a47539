"""Merging duplicate customers, and undoing a merge.

Identity resolution (imports, staff adding identities) keeps one customer per person where it can tell; when it
cannot — a buyer who used a new phone and a new nick — staff fold the duplicate into the customer they keep.
Everything that hangs off the absorbed record moves: identities, orders, interactions, tasks, opportunities,
survey records, tags, consents and custom values. The absorbed record stays (marked `merged_into`) so links to it
still lead somewhere, and a `CustomerMerge` row remembers exactly what moved, so `customer_merge_undo` puts every
row back where it was — also after new orders or notes were added to the kept customer meanwhile (those stay).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.activities.models import Interaction, Opportunity, Task
from guanxi.commerce.models import Order
from guanxi.customers.models import (
    Consent, Customer, CustomerMerge, CustomerTag, CustomFieldValue, Identity, SurveyRecord,
)

# Rows that simply change owner: table key in CustomerMerge.moved → model.
_MOVABLE = {
    "identities": Identity,
    "orders": Order,
    "interactions": Interaction,
    "tasks": Task,
    "opportunities": Opportunity,
    "survey_records": SurveyRecord,
}

# Profile fields the kept customer takes from the absorbed one when its own is blank.
_FILLABLE = ("name", "gender", "country", "province", "city", "district", "address", "company", "industry",
             "company_size", "business_model", "display_phone", "note")


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _locked(*customers: Customer) -> dict[int, Customer]:
    """Both customers re-read under a row lock, always in id order so two merges cannot deadlock."""
    ids = sorted(c.pk for c in customers)
    rows = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    if len(rows) != len(set(ids)):
        raise Customer.DoesNotExist(_("No such customer."))
    return rows


@transaction.atomic
def customer_merge(*, keep: Customer, absorb: Customer, by: AbstractBaseUser | None) -> CustomerMerge:
    """Fold `absorb` into `keep`: identities, orders and history move; the merge can be undone."""
    if keep.pk == absorb.pk:
        raise ValidationError({"absorb_id": _("A customer cannot be merged into itself.")})
    rows = _locked(keep, absorb)
    keep, absorb = rows[keep.pk], rows[absorb.pk]
    for customer, field in ((keep, "customer_id"), (absorb, "absorb_id")):
        if customer.merged_into_id is not None:
            raise ValidationError({field: _("Customer #%(id)s was already merged into #%(into)s.")
                                   % {"id": customer.pk, "into": customer.merged_into_id}})

    moved: dict[str, list[int]] = {}
    for key, model in _MOVABLE.items():
        ids = list(model.objects.filter(customer=absorb).values_list("id", flat=True))
        if ids:
            model.objects.filter(pk__in=ids).update(customer=keep, updated_at=timezone.now())
        moved[key] = ids

    replaced: dict = {"tags": [], "consents": [], "custom_values": [], "profile": {}}

    keep_tags = set(CustomerTag.objects.filter(customer=keep).values_list("tag_id", flat=True))
    tag_ids = []
    for link in CustomerTag.objects.filter(customer=absorb):
        if link.tag_id in keep_tags:
            replaced["tags"].append(link.tag_id)
            link.delete()
        else:
            tag_ids.append(link.pk)
    CustomerTag.objects.filter(pk__in=tag_ids).update(customer=keep)
    moved["customer_tags"] = tag_ids

    # Consent: the more recent statement wins (a withdrawal given on the duplicate must not be lost).
    keep_consents = {c.channel: c for c in Consent.objects.filter(customer=keep)}
    consent_ids = []
    for consent in Consent.objects.filter(customer=absorb):
        mine = keep_consents.get(consent.channel)
        if mine is None:
            consent_ids.append(consent.pk)
            continue
        newer = consent.recorded_at > mine.recorded_at
        replaced["consents"].append({
            "channel": consent.channel, "absorbed": _consent_state(consent),
            "kept": _consent_state(mine) if newer else None,
        })
        if newer:
            mine.granted, mine.recorded_at, mine.source = consent.granted, consent.recorded_at, consent.source
            mine.save(update_fields=["granted", "recorded_at", "source", "updated_at"])
        consent.delete()
    Consent.objects.filter(pk__in=consent_ids).update(customer=keep)
    moved["consents"] = consent_ids

    keep_fields = set(CustomFieldValue.objects.filter(customer=keep).values_list("field_id", flat=True))
    value_ids = []
    for value in CustomFieldValue.objects.filter(customer=absorb):
        if value.field_id in keep_fields:
            replaced["custom_values"].append({
                "field_id": value.field_id, "value_text": value.value_text,
                "value_number": str(value.value_number) if value.value_number is not None else None,
                "value_date": _iso(value.value_date),
            })
            value.delete()
        else:
            value_ids.append(value.pk)
    CustomFieldValue.objects.filter(pk__in=value_ids).update(customer=keep)
    moved["custom_values"] = value_ids

    filled = {}
    for field in _FILLABLE:
        if not getattr(keep, field) and getattr(absorb, field):
            filled[field] = getattr(absorb, field)
            setattr(keep, field, filled[field])
    if keep.birthday is None and absorb.birthday is not None:
        keep.birthday = absorb.birthday
        filled["birthday"] = absorb.birthday.isoformat()
    replaced["profile"] = filled
    if filled:
        keep.name_key = keep.name.lower()
        keep.save()

    absorb.merged_into = keep
    absorb.save(update_fields=["merged_into", "updated_at"])
    return CustomerMerge.objects.create(
        workspace=keep.workspace, kept=keep, absorbed=absorb, merged_by=by, moved=moved, replaced=replaced,
    )


def _consent_state(consent: Consent) -> dict:
    return {"granted": consent.granted, "recorded_at": consent.recorded_at.isoformat(), "source": consent.source}


@transaction.atomic
def customer_merge_undo(*, merge: CustomerMerge, by: AbstractBaseUser | None) -> CustomerMerge:
    """Split a merge: the absorbed customer gets back every row the merge moved and is listed again.

    Refused when the merge was already undone, or when the kept customer has since been merged into another one
    (undo that later merge first). Rows added to the kept customer after the merge stay with it.
    """
    merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise ValidationError(_("This merge was already undone."))
    rows = _locked(merge.kept, merge.absorbed)
    keep, absorb = rows[merge.kept_id], rows[merge.absorbed_id]
    if keep.merged_into_id is not None:
        raise ValidationError(_("Customer #%(id)s was merged into #%(into)s since; undo that merge first.")
                              % {"id": keep.pk, "into": keep.merged_into_id})

    now = timezone.now()
    for key, model in {**_MOVABLE, "customer_tags": CustomerTag, "consents": Consent,
                       "custom_values": CustomFieldValue}.items():
        ids = merge.moved.get(key) or []
        if ids:
            model.objects.filter(pk__in=ids, customer=keep).update(customer=absorb, updated_at=now)

    replaced = merge.replaced or {}
    for tag_id in replaced.get("tags", []):
        CustomerTag.objects.get_or_create(workspace=absorb.workspace, customer=absorb, tag_id=tag_id)
    for item in replaced.get("consents", []):
        state = item["absorbed"]
        Consent.objects.update_or_create(
            workspace=absorb.workspace, customer=absorb, channel=item["channel"],
            defaults={"granted": state["granted"], "recorded_at": state["recorded_at"], "source": state["source"]},
        )
        if item.get("kept"):
            state = item["kept"]
            Consent.objects.filter(customer=keep, channel=item["channel"]).update(
                granted=state["granted"], recorded_at=state["recorded_at"], source=state["source"], updated_at=now,
            )
    for item in replaced.get("custom_values", []):
        CustomFieldValue.objects.update_or_create(
            workspace=absorb.workspace, customer=absorb, field_id=item["field_id"],
            defaults={"value_text": item["value_text"], "value_number": item["value_number"],
                      "value_date": item["value_date"]},
        )
    profile = replaced.get("profile", {})
    if profile:
        for field, value in profile.items():
            current = getattr(keep, field)
            current = current.isoformat() if field == "birthday" and current is not None else current
            if current == value:  # staff may have edited it since; then it is theirs now
                setattr(keep, field, None if field == "birthday" else "")
        keep.name_key = keep.name.lower()
        keep.save()

    absorb.merged_into = None
    absorb.save(update_fields=["merged_into", "updated_at"])
    merge.undone_at, merge.undone_by = now, by
    merge.save(update_fields=["undone_at", "undone_by", "updated_at"])
    return merge


def merge_to_undo(*, absorbed: Customer) -> CustomerMerge:
    """The merge that made `absorbed` part of another customer (DoesNotExist when it is not merged)."""
    return CustomerMerge.objects.filter(absorbed=absorbed, undone_at__isnull=True).latest("created_at")


def merge_history(*, customer: Customer) -> list[CustomerMerge]:
    """Every merge this customer took part in, kept or absorbed, newest first."""
    from django.db.models import Q

    return list(
        CustomerMerge.objects.filter(Q(kept=customer) | Q(absorbed=customer))
        .select_related("kept", "absorbed", "merged_by", "undone_by")
    )
