"""The settings page (owners only, Perm.MANAGE): stores and their webhook secrets, members and their roles,
custom fields."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.customers import services as customer_services
from guanxi.customers.models import CustomField
from guanxi.web.collation import sorted_by_name
from guanxi.web.decorators import member_required
from guanxi.web.templatetags.guanxi_ui import person
from guanxi.web.forms import add_service_errors
from guanxi.workspaces import services
from guanxi.workspaces.forms import CustomFieldForm, MemberForm, RoleForm, StoreForm
from guanxi.workspaces.models import Membership, Store
from guanxi.workspaces.permissions import Perm


def _render(request, *, store_form=None, member_form=None, field_form=None, status=200):
    return render(request, "workspaces/settings.html", {
        "stores": sorted_by_name(Store.objects.all(), lambda s: s.name),
        "webhook_base": request.build_absolute_uri("/api/v1/webhooks/shopify/"),
        "memberships": sorted_by_name(Membership.objects.select_related("user"), lambda m: person(m.user)),
        "custom_fields": list(CustomField.objects.all()),
        "store_form": store_form or StoreForm(reporting_currency=request.workspace.currency),
        "member_form": member_form or MemberForm(),
        "field_form": field_form or CustomFieldForm(),
        "role_form": RoleForm(),
    }, status=status)


def _flash_errors(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@member_required(Perm.MANAGE)
def settings_page(request):
    return _render(request)


@require_POST
@member_required(Perm.MANAGE)
def store_add(request):
    form = StoreForm(request.POST, reporting_currency=request.workspace.currency)
    if form.is_valid():
        try:
            store = services.store_create(workspace=request.workspace, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Store %(name)s added.") % {"name": store.name})
            return redirect("web:settings")
    return _render(request, store_form=form, status=400)


@require_POST
@member_required(Perm.MANAGE)
def store_edit(request, store_id: int):
    store = get_object_or_404(Store, pk=store_id)
    form = StoreForm(request.POST, reporting_currency=request.workspace.currency)
    if form.is_valid():
        try:
            services.store_update(store=store, **form.cleaned_data)
        except ValidationError as error:
            _flash_errors(request, error)
        else:
            messages.success(request, _("Store %(name)s saved.") % {"name": store.name})
    else:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, message)
    return redirect("web:settings")


@require_POST
@member_required(Perm.MANAGE)
def store_delete(request, store_id: int):
    store = get_object_or_404(Store, pk=store_id)
    try:
        services.store_delete(store=store)
    except (ValidationError, ProtectedError) as error:
        _flash_errors(request, error if isinstance(error, ValidationError) else ValidationError(
            _("The store has orders and cannot be deleted.")))
    else:
        messages.success(request, _("Store %(name)s deleted.") % {"name": store.name})
    return redirect("web:settings")


@require_POST
@member_required(Perm.MANAGE)
def member_add(request):
    form = MemberForm(request.POST)
    if form.is_valid():
        username = form.cleaned_data["username"].strip()
        password = form.cleaned_data["password"]
        user = get_user_model().objects.filter(username=username).first()
        try:
            if user is None:
                if not password:
                    raise ValidationError({"password": _("A new user needs a password.")})
                user = services.user_ensure(username=username, password=password)
            services.member_add(workspace=request.workspace, user=user, role=form.cleaned_data["role"])
        except ValidationError as error:
            add_service_errors(form, error, field_map={"__all__": "password"} if user is None else None)
        else:
            messages.success(request, _("%(user)s is now a member.") % {"user": username})
            return redirect("web:settings")
    return _render(request, member_form=form, status=400)


@require_POST
@member_required(Perm.MANAGE)
def member_role(request, membership_id: int):
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.member_role_set(membership=membership, role=form.cleaned_data["role"])
        except ValidationError as error:
            _flash_errors(request, error)
        else:
            messages.success(request, _("Role of %(user)s changed.") % {"user": membership.user})
    return redirect("web:settings")


@require_POST
@member_required(Perm.MANAGE)
def member_remove(request, membership_id: int):
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id)
    try:
        services.member_remove(membership=membership)
    except ValidationError as error:
        _flash_errors(request, error)
    else:
        messages.success(request, _("%(user)s is no longer a member.") % {"user": membership.user})
    return redirect("web:settings")


@require_POST
@member_required(Perm.MANAGE)
def custom_field_add(request):
    form = CustomFieldForm(request.POST)
    if form.is_valid():
        try:
            field = customer_services.custom_field_create(
                key=form.cleaned_data["key"], label=form.cleaned_data["label"],
                field_type=form.cleaned_data["field_type"], choices=form.choice_list(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Custom field %(label)s added.") % {"label": field.label})
            return redirect("web:settings")
    return _render(request, field_form=form, status=400)


@require_POST
@member_required(Perm.MANAGE)
def custom_field_delete(request, field_id: int):
    field = get_object_or_404(CustomField, pk=field_id)
    customer_services.custom_field_delete(field=field)
    messages.success(request, _("Custom field %(label)s deleted.") % {"label": field.label})
    return redirect("web:settings")


@require_POST
@member_required(Perm.MANAGE)
def store_webhook(request, store_id: int):
    """Save the signing secret Shopify shows under Settings → Notifications → Webhooks ('' turns the feed off)."""
    store = get_object_or_404(Store, pk=store_id)
    secret = request.POST.get("webhook_secret", "").strip()
    if len(secret) > 200:
        messages.error(request, _("The webhook secret is longer than 200 characters."))
        return redirect("web:settings")
    services.store_update(store=store, webhook_secret=secret)
    if secret:
        messages.success(request, _("Webhook secret of %(name)s saved.") % {"name": store.name})
    else:
        messages.success(request, _("Live feed of %(name)s turned off.") % {"name": store.name})
    return redirect("web:settings")
