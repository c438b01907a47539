"""Schema pieces every resource shares: input conventions, money, times, pagination and references."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict

from guanxi.api.auth import ApiPrincipal
from guanxi.api.input_limits import MAX_INT, BoundedSchema
from guanxi.workspaces.permissions import Perm
from guanxi.workspaces.tenancy import current_time_zone, current_workspace

CENT = Decimal("0.01")
MAX_PAGE = 200


class InputSchema(BoundedSchema):
    """Request bodies: an unknown field is an error (a typo in a PATCH must not pass silently as "no change"), and
    every value must fit its column (input_limits: 422 otherwise)."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)


def _in_workspace_time(value: dt.datetime) -> dt.datetime:
    # Platform exports write local times without an offset; they mean the shop's time zone.
    if timezone.is_naive(value):
        return timezone.make_aware(value, current_time_zone())
    return value


# A point in time; without an offset it is read in the workspace's time zone.
DateTimeIn = Annotated[dt.datetime, AfterValidator(_in_workspace_time)]

# An amount of money in: a decimal string ("129.90") or a number, at most 2 decimal places, not negative.
MoneyIn = Annotated[Decimal, Field(max_digits=14, decimal_places=2, ge=0, examples=["129.90"])]


def _money_text(value) -> str:
    return str(Decimal(value).quantize(CENT))


# An amount of money out: always a decimal string with 2 places, never a float.
MoneyOut = Annotated[str, BeforeValidator(_money_text), Field(pattern=r"^-?\d+\.\d{2}$", examples=["129.90"])]


def can_see_contact(context) -> bool:
    """Whether the request's role sees full phones and addresses (others get them masked)."""
    request = (context or {}).get("request")
    principal = getattr(request, "auth", None)
    return isinstance(principal, ApiPrincipal) and principal.can(Perm.SEE_CONTACT)


class QuerySchema(BoundedSchema):
    """Query parameters: every value must fit what it is compared with (input_limits: 422 otherwise)."""


class PageQuery(QuerySchema):
    limit: int = Field(50, ge=1, le=MAX_PAGE, description=f"Items per page, at most {MAX_PAGE}.")
    offset: int = Field(0, ge=0, description="Items to skip.")


def paginate(queryset: QuerySet, page: PageQuery) -> dict:
    """One page of `queryset` and the number of all its rows: {"items": [...], "count": n}."""
    end = min(page.offset + page.limit, MAX_INT)  # an offset near the 64-bit limit must not overflow the LIMIT
    return {"items": list(queryset[page.offset : end]), "count": queryset.count()}


class UserRef(Schema):
    id: int
    username: str
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.get_full_name() or obj.username


class StoreRef(Schema):
    id: int
    name: str
    platform: str


class CustomerRef(Schema):
    id: int
    name: str


def member_or_error(user_id: int | None, field: str):
    """The user `user_id` if they are a member of the active workspace, else a field error. None stays None."""
    if user_id is None:
        return None
    user = get_user_model().objects.filter(pk=user_id, memberships__workspace=current_workspace()).first()
    if user is None:
        raise ValidationError({field: _("User #%(id)s is not a member of this workspace.") % {"id": user_id}})
    return user


def object_or_error(model, pk: int, field: str):
    """The active workspace's `model` row `pk`, else a field error (a body naming another workspace's id is bad
    input, answered the same whether the id exists elsewhere or nowhere)."""
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise ValidationError({field: _("No %(thing)s #%(id)s in this workspace.")
                               % {"thing": model._meta.verbose_name, "id": pk}})
    return obj


class renamed_fields:
    """Re-raise a service's ValidationError with the API's input names (owner → owner_id) under an optional
    prefix (identities[0]), so field paths point at what the client sent. A name mapped to "" means the prefix."""

    def __init__(self, names: dict[str, str] | None = None, prefix: str = ""):
        self.names = names or {}
        self.prefix = prefix

    def _path(self, key: str) -> str:
        key = self.names.get(key, key)
        if key in ("", NON_FIELD_ERRORS):
            return self.prefix or NON_FIELD_ERRORS
        return f"{self.prefix}.{key}" if self.prefix else key

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or not issubclass(exc_type, ValidationError):
            return False
        if hasattr(exc, "error_dict"):
            raise ValidationError({self._path(k): v for k, v in exc.message_dict.items()}) from None
        if self.prefix:
            raise ValidationError({self.prefix: exc.messages}) from None
        return False
