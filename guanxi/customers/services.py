"""Writes to the customer database. Every function acts in the active workspace and validates before saving."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.customers.identity import identity_tail, is_masked, normalize_identity
from guanxi.customers.models import (
    STORE_SCOPED_KINDS, Channel, Consent, Customer, CustomerTag, CustomField, CustomFieldValue, FieldType, Identity,
    Tag,
)
from guanxi.workspaces.models import Membership, Store
from guanxi.workspaces.tenancy import current_workspace

_UNCHANGED = object()

PROFILE_FIELDS = (
    "name", "gender", "birthday", "country", "province", "city", "district", "address", "company", "industry",
    "company_size", "business_model", "display_phone", "lifecycle_stage", "note", "postcode",
)
# Set by hand, these stop imports from giving the customer their latest order's address.
ADDRESS_FIELDS = ("country", "province", "city", "district", "address", "postcode")


def _check_owner(owner: AbstractBaseUser | None) -> None:
    if owner is not None and not Membership.objects.filter(user=owner).exists():
        raise ValidationError({"owner": _("The owner must be a member of this workspace.")})


@transaction.atomic
def customer_create(
    *,
    identities: list[tuple[str, str]] | tuple = (),
    tags: list[str] | tuple = (),
    custom: dict | None = None,
    owner: AbstractBaseUser | None = None,
    store: Store | None = None,
    **profile,
) -> Customer:
    """A new customer with its identities (kind, raw value), tags and custom field values.

    Raises ValidationError with per-field messages (identities under "identities") and saves nothing when any
    part is invalid — including an identity that already belongs to another customer.
    """
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({field: _("Unknown field.") for field in unknown})
    _check_owner(owner)
    customer = Customer(workspace=current_workspace(), owner=owner, **profile)
    customer.address_set_by_staff = any(profile.get(field) for field in ADDRESS_FIELDS)
    customer.name_key = customer.name.lower()
    customer.full_clean(exclude=["workspace", "merged_into"])
    customer.save()
    for kind, raw in identities:
        identity_add(customer=customer, kind=kind, value=raw, store=store)
    for name in tags:
        customer_tag_add(customer=customer, name=name)
    for key, value in (custom or {}).items():
        custom_value_set(customer=customer, key=key, value=value)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, owner=_UNCHANGED, **changes) -> Customer:
    """Change profile fields (and the owner when given). Unknown fields are refused."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({field: _("Unknown field.") for field in unknown})
    if any(field in ADDRESS_FIELDS and getattr(customer, field) != value for field, value in changes.items()):
        customer.address_set_by_staff = True
    for field, value in changes.items():
        setattr(customer, field, value)
    if owner is not _UNCHANGED:
        _check_owner(owner)
        customer.owner = owner
    customer.name_key = customer.name.lower()
    customer.full_clean(exclude=["workspace", "merged_into"])
    customer.save()
    return customer


def identity_add(*, customer: Customer, kind: str, value: str, store: Store | None = None) -> Identity | None:
    """Attach a normalised identity; returns None for a masked phone, which is kept only as the display phone.

    Store-scoped kinds (per-shop buyer ids, Taobao ouid/OAID) need the store they come from.
    """
    if kind == "phone" and is_masked(value):
        if not customer.display_phone:
            customer.display_phone = value.strip().lstrip("'")
            customer.save(update_fields=["display_phone", "updated_at"])
        return None
    try:
        normalized = normalize_identity(kind, value)
    except ValidationError as error:
        raise ValidationError({"identities": error.messages}) from None
    scoped = kind in STORE_SCOPED_KINDS
    if scoped and store is None:
        raise ValidationError({"identities": _("A %(kind)s identity needs its store.") % {"kind": kind}})
    existing = Identity.objects.filter(kind=kind, value=normalized, store=store if scoped else None).first()
    if existing is not None:
        if existing.customer_id == customer.pk:
            return existing
        raise ValidationError(
            {"identities": _("%(kind)s %(value)s already belongs to customer #%(id)s.")
             % {"kind": kind, "value": normalized, "id": existing.customer_id}}
        )
    try:
        with transaction.atomic():
            return Identity.objects.create(
                workspace=customer.workspace, customer=customer, kind=kind, value=normalized,
                tail=identity_tail(kind, normalized), store=store if scoped else None,
            )
    except IntegrityError:  # another request attached it between our check and insert
        raise ValidationError({"identities": _("%(kind)s %(value)s already belongs to another customer.")
                               % {"kind": kind, "value": normalized}}) from None


def identity_remove(*, identity: Identity) -> None:
    identity.delete()


def tag_get_or_create(*, name: str) -> Tag:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"tags": _("A tag needs a name.")})
    if len(name) > 50:
        raise ValidationError({"tags": _("Tags are at most 50 characters.")})
    tag, _created = Tag.objects.get_or_create(workspace=current_workspace(), name=name)
    return tag


def customer_tag_add(*, customer: Customer, name: str) -> Tag:
    tag = tag_get_or_create(name=name)
    CustomerTag.objects.get_or_create(workspace=customer.workspace, customer=customer, tag=tag)
    return tag


def customer_tag_remove(*, customer: Customer, name: str) -> None:
    CustomerTag.objects.filter(customer=customer, tag__name=name).delete()


def customer_tags_set(*, customer: Customer, names: list[str]) -> None:
    """Make the customer's tags exactly `names`."""
    wanted = {n.strip() for n in names if n.strip()}
    CustomerTag.objects.filter(customer=customer).exclude(tag__name__in=wanted).delete()
    for name in sorted(wanted):
        customer_tag_add(customer=customer, name=name)


def custom_field_create(*, key: str, label: str, field_type: str, choices: list[str] | None = None) -> CustomField:
    field = CustomField(workspace=current_workspace(), key=key, label=label, field_type=field_type,
                        choices=list(choices or []))
    if field_type == FieldType.CHOICE and not field.choices:
        raise ValidationError({"choices": _("A choice field needs at least one choice.")})
    field.full_clean(exclude=["workspace"])
    field.save()
    return field


def _typed(field: CustomField, value) -> dict:
    """The value converted to the field's type, as the column it is stored in."""
    if field.field_type == FieldType.NUMBER:
        try:
            return {"value_number": Decimal(str(value))}
        except InvalidOperation:
            raise ValidationError({field.key: _("Enter a number.")}) from None
    if field.field_type == FieldType.DATE:
        if isinstance(value, dt.date):
            return {"value_date": value}
        try:
            return {"value_date": dt.date.fromisoformat(str(value))}
        except ValueError:
            raise ValidationError({field.key: _("Enter a date as YYYY-MM-DD.")}) from None
    text = str(value)
    if field.field_type == FieldType.CHOICE and text not in field.choices:
        raise ValidationError({field.key: _("Choose one of: %(choices)s.") % {"choices": ", ".join(field.choices)}})
    if len(text) > 500:
        raise ValidationError({field.key: _("At most 500 characters.")})
    return {"value_text": text}


def custom_value_set(*, customer: Customer, key: str, value) -> CustomFieldValue | None:
    """Set (or with None/"" clear) a customer's value for the custom field `key`."""
    field = CustomField.objects.filter(key=key).first()
    if field is None:
        raise ValidationError({key: _("No custom field “%(key)s” in this workspace.") % {"key": key}})
    if value is None or value == "":
        CustomFieldValue.objects.filter(customer=customer, field=field).delete()
        return None
    columns = {"value_text": "", "value_number": None, "value_date": None, **_typed(field, value)}
    stored, _created = CustomFieldValue.objects.update_or_create(
        workspace=customer.workspace, customer=customer, field=field, defaults=columns
    )
    return stored


def consent_set(*, customer: Customer, channel: str, granted: bool, source: str,
                at: dt.datetime | None = None) -> Consent:
    """Record the customer's current consent on a channel, with when and where it was given or withdrawn."""
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel “%(channel)s”.") % {"channel": channel}})
    consent, _created = Consent.objects.update_or_create(
        workspace=customer.workspace, customer=customer, channel=channel,
        defaults={"granted": granted, "source": source, "recorded_at": at or timezone.now()},
    )
    return consent


def custom_field_delete(*, field: CustomField) -> None:
    """Delete a custom field together with every customer's value for it."""
    field.delete()
