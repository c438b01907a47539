"""Writes for workspaces, stores, members and API tokens. Keyword-only; each validates before it saves.

These take the workspace explicitly (creating one cannot depend on an active one) and activate it only around
their own validation and save, because the unique checks of tenant models go through the fail-closed manager.
"""

import datetime as dt
import functools
import hashlib
import re
import secrets
import zoneinfo
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from guanxi.workspaces import tenancy
from guanxi.workspaces.models import ApiToken, ExchangeRate, Membership, Store, Workspace

TOKEN_PREFIX = "gx_"


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _clean_and_save(obj: models.Model, *, workspace: Workspace) -> None:
    with tenancy.active(workspace):
        obj.full_clean()
        obj.save()


_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def currency_code(value: str, *, field: str = "currency") -> str:
    """`value` as an ISO 4217 code (three letters, upper-cased); anything else is refused naming `field`."""
    code = (value or "").strip().upper()
    if not _CURRENCY_CODE.fullmatch(code):
        raise ValidationError({field: _("%(value)r is not a currency code (three letters, e.g. CNY or USD).")
                               % {"value": value}})
    return code


def workspace_create(*, slug: str, name: str = "", time_zone: str = "", currency: str = "CNY") -> Workspace:
    """A new workspace. `name` defaults to the slug, `time_zone` (an IANA name) to settings.TIME_ZONE, and
    `currency` — the reporting currency figures across stores are converted to — to CNY."""
    time_zone = time_zone or settings.TIME_ZONE
    if time_zone not in _time_zones():
        raise ValidationError({"time_zone": _("Unknown time zone %(tz)r.") % {"tz": time_zone}})
    workspace = Workspace(slug=slug, name=name or slug, time_zone=time_zone, currency=currency_code(currency))
    workspace.full_clean()
    workspace.save()
    return workspace


def workspace_currency_set(*, workspace: Workspace, currency: str) -> Workspace:
    """Change the reporting currency. Rates are kept: they read "1 CUR = RATE reporting units", so the owner
    re-enters those that meant the old currency (the settings page lists them)."""
    workspace.currency = currency_code(currency)
    workspace.full_clean()
    workspace.save(update_fields=["currency", "updated_at"])
    return workspace


def exchange_rate_set(*, workspace: Workspace, currency: str, rate, on: dt.date | None = None) -> ExchangeRate:
    """1 `currency` = `rate` reporting units from day `on` (workspace time zone) until the next dated rate;
    without `on`, on every day no dated rate covers. Setting the same (currency, day) again replaces it.
    The reporting currency itself needs no rate and is refused."""
    currency = currency_code(currency)
    if currency == workspace.currency:
        raise ValidationError({"currency": _("%(cur)s is the reporting currency: it needs no rate.")
                               % {"cur": currency}})
    try:
        value = Decimal(str(rate).strip())
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite() or value <= 0:
        raise ValidationError({"rate": _("The rate must be a number above 0, got %(rate)r.") % {"rate": rate}})
    with tenancy.active(workspace), transaction.atomic():
        existing = ExchangeRate.objects.select_for_update().filter(currency=currency, valid_from=on).first()
        exchange_rate = existing or ExchangeRate(workspace=workspace, currency=currency, valid_from=on)
        exchange_rate.rate = value
        exchange_rate.full_clean(validate_constraints=False)  # the row found above is the one the constraints see
        exchange_rate.save()
    return exchange_rate


def exchange_rate_delete(*, exchange_rate: ExchangeRate) -> None:
    """Remove one rate; figures of the days it covered fall back to the undated rate, or are left out."""
    exchange_rate.delete()


def store_create(
    *, workspace: Workspace, name: str, platform: str, currency: str | None = None, webhook_secret: str = ""
) -> Store:
    """A store (one shop on one platform) in `workspace`; currency defaults to the workspace's."""
    store = Store(
        workspace=workspace, name=name, platform=platform, currency=currency or workspace.currency,
        webhook_secret=webhook_secret,
    )
    _clean_and_save(store, workspace=workspace)
    return store


def user_ensure(*, username: str, password: str) -> AbstractBaseUser:
    """The user called `username`, created if missing, with `password` set (checked by AUTH_PASSWORD_VALIDATORS)."""
    User = get_user_model()
    user = User.objects.filter(username=username).first() or User(username=username)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


def member_add(*, workspace: Workspace, user: AbstractBaseUser, role: str) -> Membership:
    """Make `user` a member of `workspace` with `role`; a user who already is one gets the new role."""
    with tenancy.active(workspace):
        membership = Membership.objects.filter(user=user).first() or Membership(workspace=workspace, user=user)
    membership.role = role
    _clean_and_save(membership, workspace=workspace)
    return membership


def token_hash(token: str) -> str:
    """What ApiToken.key_hash stores for a plaintext token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, workspace: Workspace, user: AbstractBaseUser, name: str = "") -> str:
    """A new API token acting as `user` in `workspace`. Returns the plaintext, which is stored nowhere."""
    if not Membership.all_workspaces.filter(workspace=workspace, user=user).exists():
        raise ValidationError(
            _("%(user)s is not a member of the workspace %(slug)s.") % {"user": user, "slug": workspace.slug}
        )
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(workspace=workspace, user=user, name=name, prefix=plaintext[:8], key_hash=token_hash(plaintext))
    _clean_and_save(token, workspace=workspace)
    return plaintext


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: AbstractBaseUser) -> ApiToken:
    """Revoke a token at once (it stays listed, marked revoked). Owners may revoke any token of their workspace,
    other members only their own; anyone else gets PermissionDenied."""
    from django.utils import timezone

    from guanxi.workspaces.models import Role
    from guanxi.workspaces.permissions import PermissionDenied

    role = Membership.all_workspaces.filter(workspace_id=token.workspace_id, user=by).values_list("role", flat=True)
    role = next(iter(role), None)
    if role is None or (role != Role.OWNER and token.user_id != by.pk):
        raise PermissionDenied("Only owners revoke other members' tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.all_workspaces.filter(pk=token.pk).update(revoked_at=token.revoked_at)
    return token


def store_update(*, store: Store, name: str | None = None, platform: str | None = None,
                 currency: str | None = None, webhook_secret: str | None = None) -> Store:
    """Rename a store, correct its platform or currency, or set its webhook secret ('' turns the feed off)."""
    if webhook_secret is not None:
        store.webhook_secret = webhook_secret.strip()
    if name is not None:
        store.name = name
    if platform is not None:
        store.platform = platform
    if currency is not None:
        store.currency = currency
    _clean_and_save(store, workspace=store.workspace)
    return store


def store_delete(*, store: Store) -> None:
    """Delete a store that has no orders; a store with orders is refused (its history must stay)."""
    from guanxi.commerce.models import Order

    with tenancy.active(store.workspace):
        if Order.objects.filter(store=store).exists():
            raise ValidationError(_("The store %(name)s has orders and cannot be deleted.") % {"name": store.name})
        store.delete()


def _check_keeps_an_owner(membership: Membership, *, new_role: str | None) -> None:
    """A workspace must always keep at least one owner, or nobody could manage it any more."""
    from guanxi.workspaces.models import Role

    if membership.role != Role.OWNER or new_role == Role.OWNER:
        return
    others = Membership.all_workspaces.filter(workspace_id=membership.workspace_id, role=Role.OWNER).exclude(
        pk=membership.pk)
    if not others.exists():
        raise ValidationError(_("A workspace needs at least one owner."))


@transaction.atomic
def member_role_set(*, membership: Membership, role: str) -> Membership:
    """Give a member another role; the last owner cannot step down."""
    _check_keeps_an_owner(membership, new_role=role)
    membership.role = role
    _clean_and_save(membership, workspace=membership.workspace)
    return membership


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    """Take a user out of a workspace (the user account stays); the last owner cannot be removed."""
    _check_keeps_an_owner(membership, new_role=None)
    ApiToken.all_workspaces.filter(workspace_id=membership.workspace_id, user_id=membership.user_id).delete()
    membership.delete()
