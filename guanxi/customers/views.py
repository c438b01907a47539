"""Customer pages: the list with one-box search, the customer 360, and the forms that change a customer.

Views parse input, check the role, call one service or selector and render. Objects are fetched through the
fail-closed tenant managers, so another workspace's id answers 404.
"""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.activities import services as activity_services
from guanxi.activities.models import Opportunity
from guanxi.customers import services
from guanxi.customers.forms import (
    ConsentForm, CustomerForm, IdentityForm, NoteForm, OpportunityForm, OpportunityStageForm, TaskForm,
)
from guanxi.customers.models import Customer, CustomerTag, CustomField, Identity, Tag
from guanxi.customers.selectors import customer_360, customer_list as select_customers
from guanxi.customers.selectors import SCORE_SORTS, order_summaries, search_customer_ids
from guanxi.web.decorators import member_required
from guanxi.web.forms import add_service_errors
from guanxi.web.paging import paginate
from guanxi.web.views import remember_customer
from guanxi.workspaces.models import Membership, Store
from guanxi.workspaces.permissions import Perm, allowed
from guanxi.workspaces.tenancy import workspace_today

PER_PAGE = 50


def _memberships():
    return list(Membership.objects.select_related("user"))


def _user(memberships, user_id: str):
    for membership in memberships:
        if str(membership.user_id) == str(user_id):
            return membership.user
    return None


@member_required()
def customer_list(request):
    q = request.GET.get("q", "").strip()
    tag = request.GET.get("tag", "").strip()
    sort = request.GET.get("sort", "")
    if sort.lstrip("-") not in SCORE_SORTS:
        sort = ""
    customers = select_customers(tag=tag, sort="" if q else sort)
    total = None
    if q:
        # Keep the search's ranking (exact phone/email/order matches before name prefixes) on the page.
        ids = search_customer_ids(q)
        total = len(ids)
        rank = {cid: position for position, cid in enumerate(ids)}
        matched = list(customers.filter(id__in=ids))
        matched.sort(key=lambda c: rank[c.id])
        total = len(matched)
        page = paginate(matched, request, per_page=PER_PAGE, total=total)
    else:
        page = paginate(customers, request, per_page=PER_PAGE)
    return render(request, "customers/customer_list.html", {
        "q": q,
        "tag": tag,
        "tags": list(Tag.objects.all()),
        "sort": sort,
        "sort_columns": [("clv", _("Lifetime value")), ("profit", _("Gross profit"))],
        "page": page,
        "total": total,
        "summaries": order_summaries([c.id for c in page.items]),
    })


@member_required(Perm.WRITE)
def customer_new(request):
    memberships = _memberships()
    custom_fields = list(CustomField.objects.all())
    form_kwargs = {"memberships": memberships, "custom_fields": custom_fields, "creating": True,
                   "can_see_contact": True}
    if request.method == "POST":
        form = CustomerForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                customer = services.customer_create(
                    identities=form.identities(), tags=form.tag_names(), custom=form.custom(),
                    owner=_user(memberships, form.cleaned_data["owner"]), **form.profile(),
                )
            except ValidationError as error:
                add_service_errors(form, error, field_map=_identity_field_map(form))
            else:
                messages.success(request, _("Customer %(name)s created.") % {"name": customer})
                return redirect("web:customer_detail", customer_id=customer.id)
    else:
        form = CustomerForm(initial={"owner": str(request.user.id), "name": request.GET.get("name", "")},
                            **form_kwargs)
    return render(request, "customers/customer_form.html", {"form": form, "creating": True})


def _identity_field_map(form: CustomerForm) -> dict[str, str]:
    """Service errors about identities belong next to the identity inputs the form showed."""
    filled = [name for name in CustomerForm.IDENTITY_FIELDS if form.cleaned_data.get(name)]
    mapping = {"identities": filled[0] if len(filled) == 1 else "phone" if "phone" in filled else "email"}
    mapping.update({key: f"custom_{key}" for key in (f.key for f in form.custom_fields)})
    return mapping


@member_required(Perm.WRITE)
def customer_edit(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    memberships = _memberships()
    custom_fields = list(CustomField.objects.all())
    can_see_contact = allowed(request.role, Perm.SEE_CONTACT)
    form_kwargs = {"memberships": memberships, "custom_fields": custom_fields, "creating": False,
                   "can_see_contact": can_see_contact}
    if request.method == "POST":
        form = CustomerForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                with transaction.atomic():
                    services.customer_update(customer=customer, owner=_user(memberships, form.cleaned_data["owner"]),
                                             **form.profile())
                    services.customer_tags_set(customer=customer, names=form.tag_names())
                    for key, value in form.custom().items():
                        services.custom_value_set(customer=customer, key=key, value=value)
            except ValidationError as error:
                add_service_errors(form, error, field_map={f.key: f"custom_{f.key}" for f in custom_fields})
            else:
                messages.success(request, _("Changes saved."))
                return redirect("web:customer_detail", customer_id=customer.id)
    else:
        tags = [ct.tag for ct in CustomerTag.objects.filter(customer=customer).select_related("tag")]
        custom_values = list(customer.custom_values.select_related("field"))
        form = CustomerForm(initial=CustomerForm.initial_for(customer, tags=tags, custom_values=custom_values),
                            **form_kwargs)
    return render(request, "customers/customer_form.html", {
        "form": form, "creating": False, "customer": customer,
        "identities": list(Identity.objects.filter(customer=customer).select_related("store")),
        "identity_form": IdentityForm(stores=Store.objects.all()),
        "consents": list(customer.consents.all()),
        "consent_form": ConsentForm(),
    })


def _detail_context(request, customer_id: int, **forms) -> dict:
    view = customer_360(customer_id)
    memberships = _memberships()
    today = workspace_today()
    return {
        "c": view.customer,
        "view": view,
        "today": today,
        "note_form": forms.get("note_form") or NoteForm(),
        "task_form": forms.get("task_form") or TaskForm(
            memberships=memberships,
            initial={"due_on": today + dt.timedelta(days=1), "assignee": str(request.user.id)},
        ),
        "opportunity_form": forms.get("opportunity_form") or OpportunityForm(),
    }


@member_required()
def customer_detail(request, customer_id: int):
    try:
        context = _detail_context(request, customer_id)
    except Customer.DoesNotExist:
        raise Http404 from None
    response = render(request, "customers/customer_detail.html", context)
    remember_customer(request, response, context["c"].id)
    return response


def _back_to(customer_id: int, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("web:customer_detail", args=[customer_id]) + anchor)


@require_POST
@member_required(Perm.WRITE)
def customer_note_add(request, customer_id: int):
    """Log a note in place: htmx gets a fresh form plus the new timeline entry (swapped out of band)."""
    customer = get_object_or_404(Customer, pk=customer_id)
    form = NoteForm(request.POST)
    interaction = None
    if form.is_valid():
        try:
            interaction = activity_services.interaction_log(
                customer=customer, author=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
    if request.htmx:
        return render(request, "customers/_note_added.html", {
            "c": customer, "note_form": NoteForm() if interaction else form, "interaction": interaction,
        })
    if interaction is None:
        return render(request, "customers/customer_detail.html", _detail_context(request, customer.id, note_form=form),
                      status=400)
    return _back_to(customer.id, "#timeline")


@require_POST
@member_required(Perm.WRITE)
def customer_task_add(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    memberships = _memberships()
    form = TaskForm(request.POST, memberships=memberships)
    task = None
    if form.is_valid():
        data = dict(form.cleaned_data)
        assignee = _user(memberships, data.pop("assignee"))
        try:
            task = activity_services.task_create(customer=customer, assignee=assignee, created_by=request.user,
                                                 **data)
        except ValidationError as error:
            add_service_errors(form, error)
    if request.htmx:
        fresh = TaskForm(memberships=memberships, initial={
            "due_on": workspace_today() + dt.timedelta(days=1), "assignee": str(request.user.id)})
        return render(request, "customers/_task_added.html", {
            "c": customer, "task_form": fresh if task else form, "task": task, "today": workspace_today(),
        })
    if task is None:
        return render(request, "customers/customer_detail.html", _detail_context(request, customer.id, task_form=form),
                      status=400)
    return _back_to(customer.id, "#tasks")


@require_POST
@member_required(Perm.WRITE)
def customer_opportunity_add(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    form = OpportunityForm(request.POST)
    opportunity = None
    if form.is_valid():
        try:
            opportunity = activity_services.opportunity_create(customer=customer, owner=request.user,
                                                               **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
    if request.htmx:
        return render(request, "customers/_opportunity_added.html", {
            "c": customer, "opportunity_form": OpportunityForm() if opportunity else form,
            "opportunity": opportunity,
        })
    if opportunity is None:
        return render(request, "customers/customer_detail.html",
                      _detail_context(request, customer.id, opportunity_form=form), status=400)
    return _back_to(customer.id, "#opportunities")


@require_POST
@member_required(Perm.WRITE)
def opportunity_stage(request, opportunity_id: int):
    opportunity = get_object_or_404(Opportunity.objects.select_related("customer", "owner"), pk=opportunity_id)
    form = OpportunityStageForm(request.POST)
    if form.is_valid():
        activity_services.opportunity_update(opportunity=opportunity, stage=form.cleaned_data["stage"])
    if request.htmx:
        return render(request, "customers/_opportunity.html", {"o": opportunity, "c": opportunity.customer})
    return _back_to(opportunity.customer_id, "#opportunities")


@require_POST
@member_required(Perm.WRITE)
def customer_identity_add(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    stores = list(Store.objects.all())
    form = IdentityForm(request.POST, stores=stores)
    if form.is_valid():
        try:
            identity = services.identity_add(customer=customer, kind=form.cleaned_data["kind"],
                                             value=form.cleaned_data["value"],
                                             store=form.stores.get(form.cleaned_data["store"]))
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            if identity is None:
                messages.info(request, _("A masked phone number is kept for display only; it cannot identify "
                                         "the customer."))
            else:
                messages.success(request, _("Identity added."))
    else:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, message)
    return redirect("web:customer_edit", customer_id=customer.id)


@require_POST
@member_required(Perm.WRITE)
def customer_identity_remove(request, customer_id: int, identity_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    identity = get_object_or_404(Identity, pk=identity_id, customer=customer)
    services.identity_remove(identity=identity)
    messages.success(request, _("Identity removed."))
    return redirect("web:customer_edit", customer_id=customer.id)


@require_POST
@member_required(Perm.WRITE)
def customer_consent(request, customer_id: int):
    customer = get_object_or_404(Customer, pk=customer_id)
    form = ConsentForm(request.POST)
    if form.is_valid():
        services.consent_set(customer=customer, **form.cleaned_data)
        messages.success(request, _("Consent recorded."))
    else:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, message)
    return redirect("web:customer_edit", customer_id=customer.id)
