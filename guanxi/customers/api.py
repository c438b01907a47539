"""Customers over the API: list (the UI's one-box search and filters), get, create, update, identities."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Prefetch, Subquery
from ninja import Query, Router, Status

from guanxi.api.errors import ErrorOut
from guanxi.api.schemas import member_or_error, object_or_error, paginate, renamed_fields
from guanxi.commerce.models import Order
from guanxi.customers.models import Customer, CustomerTag, CustomFieldValue, Identity
from guanxi.customers.schemas import (
    ConsentIn, CustomerIn, CustomerOut, CustomerPage, CustomerPatch, CustomerQuery, IdentityIn,
)
from guanxi.customers.selectors import customer_list
from guanxi.customers.services import (
    consent_set, custom_value_set, customer_create, customer_tags_set, customer_update, identity_add,
    identity_remove,
)
from guanxi.workspaces.models import Store

router = Router(tags=["customers"])

READ_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _prefetch() -> tuple:
    """Everything CustomerOut shows, in a fixed number of queries for any number of customers."""
    return (
        "identities",
        Prefetch("customer_tags", queryset=CustomerTag.objects.select_related("tag")),
        Prefetch("custom_values", queryset=CustomFieldValue.objects.select_related("field")),
        "consents",
    )


def _with_first_order(customers):
    """Annotate `first_order_at`: the earliest order's placed time, a subquery on the (customer, placed_at)
    index, so a page of customers costs no extra query."""
    first = Order.objects.filter(customer=OuterRef("pk")).order_by("placed_at").values("placed_at")[:1]
    return customers.annotate(first_order_at=Subquery(first))


def _customer(customer_id: int) -> Customer:
    return _with_first_order(Customer.objects.select_related("owner").prefetch_related(*_prefetch())).get(
        pk=customer_id)


def _add_identities(customer: Customer, identities: list[IdentityIn]) -> None:
    """Attach each identity; report every one that is refused (the caller's transaction then saves nothing)."""
    errors: dict[str, list[str]] = {}
    for index, identity in enumerate(identities):
        path = f"identities[{index}]"
        try:
            store = object_or_error(Store, identity.store_id, f"{path}.store_id") if identity.store_id else None
            with renamed_fields({"identities": ""}, prefix=path):
                identity_add(customer=customer, kind=identity.kind, value=identity.value, store=store)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)


def _set_consents(customer: Customer, consents: list[ConsentIn]) -> None:
    for index, consent in enumerate(consents):
        with renamed_fields(prefix=f"consents[{index}]"):
            consent_set(customer=customer, channel=consent.channel, granted=consent.granted, source=consent.source,
                        at=consent.recorded_at)


def _set_custom(customer: Customer, custom: dict) -> None:
    for key, value in custom.items():
        with renamed_fields({key: ""}, prefix=f"custom.{key}"):
            custom_value_set(customer=customer, key=key, value=value)


@router.get("", response={200: CustomerPage, **READ_ERRORS}, summary="List or search customers")
def list_customers(request, query: Query[CustomerQuery]):
    """Newest first; with `q`, the customers the UI's search box finds. Merged-away records are left out."""
    customers = customer_list(q=query.q, tag=query.tag, owner_id=query.owner)
    if query.lifecycle_stage:
        customers = customers.filter(lifecycle_stage=query.lifecycle_stage)
    customers = _with_first_order(customers.prefetch_related(None).prefetch_related(*_prefetch()))
    return paginate(customers, query)


@router.get("/{int:customer_id}", response={200: CustomerOut, **READ_ERRORS}, summary="Get a customer")
def get_customer(request, customer_id: int):
    return _customer(customer_id)


@router.post("", response={201: CustomerOut, **WRITE_ERRORS}, summary="Create a customer")
@transaction.atomic
def create_customer(request, payload: CustomerIn):
    """With identities, tags, custom field values and consents — all saved, or nothing when any is invalid
    (an invalid phone or email, an identity that belongs to another customer, an unknown custom field)."""
    profile = payload.model_dump(exclude={"owner_id", "identities", "tags", "custom", "consents"})
    owner = member_or_error(payload.owner_id, "owner_id")
    with renamed_fields({"owner": "owner_id"}):
        customer = customer_create(owner=owner, tags=payload.tags, **profile)
    _add_identities(customer, payload.identities)
    _set_custom(customer, payload.custom)
    _set_consents(customer, payload.consents)
    return Status(201, _customer(customer.pk))


@router.patch("/{int:customer_id}", response={200: CustomerOut, **WRITE_ERRORS}, summary="Update a customer")
@transaction.atomic
def update_customer(request, customer_id: int, payload: CustomerPatch):
    customer = Customer.objects.get(pk=customer_id)
    changes = payload.model_dump(exclude_unset=True)
    tags, custom, consents = changes.pop("tags", None), changes.pop("custom", None), changes.pop("consents", None)
    if "owner_id" in changes:
        changes["owner"] = member_or_error(changes.pop("owner_id"), "owner_id")
    if changes:
        with renamed_fields({"owner": "owner_id"}):
            customer_update(customer=customer, **changes)
    if tags is not None:
        with renamed_fields({"tags": ""}, prefix="tags"):
            customer_tags_set(customer=customer, names=tags)
    if custom is not None:
        _set_custom(customer, custom)
    if consents is not None:
        _set_consents(customer, payload.consents)
    return _customer(customer.pk)


@router.post("/{int:customer_id}/identities", response={201: CustomerOut, **WRITE_ERRORS},
             summary="Add an identity to a customer")
@transaction.atomic
def add_identity(request, customer_id: int, payload: IdentityIn):
    """A masked phone (138****5678) is kept as the display phone, not as an identity."""
    customer = Customer.objects.get(pk=customer_id)
    store = object_or_error(Store, payload.store_id, "store_id") if payload.store_id else None
    with renamed_fields({"identities": "value"}):
        identity_add(customer=customer, kind=payload.kind, value=payload.value, store=store)
    return Status(201, _customer(customer.pk))


@router.delete("/{int:customer_id}/identities/{int:identity_id}", response={204: None, **WRITE_ERRORS},
               summary="Remove an identity from a customer")
def remove_identity(request, customer_id: int, identity_id: int):
    identity = Identity.objects.get(pk=identity_id, customer=Customer.objects.get(pk=customer_id))
    identity_remove(identity=identity)
    return Status(204, None)
