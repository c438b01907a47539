"""Pages for merging duplicate customers and undoing a merge (thin: parse, check the role, call the service)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.customers.merge import customer_merge, customer_merge_undo, merge_history
from guanxi.customers.models import Customer, CustomerMerge
from guanxi.customers.selectors import search_customer_ids
from guanxi.web.decorators import member_required
from guanxi.workspaces.permissions import Perm


@member_required()
def customer_merge_page(request, customer_id: int):
    """GET: search for the duplicate and see this customer's merge history. POST (writers): merge it in."""
    customer = get_object_or_404(Customer, pk=customer_id)
    error = ""
    if request.method == "POST":
        if not _can_write(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        absorb = Customer.objects.filter(pk=_int(request.POST.get("absorb_id"))).first()
        if absorb is None:
            error = _("Choose the duplicate customer to merge in.")
        else:
            try:
                customer_merge(keep=customer, absorb=absorb, by=request.user)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                messages.success(request, _("%(absorbed)s was merged into %(kept)s.")
                                 % {"absorbed": absorb, "kept": customer})
                return HttpResponseRedirect(reverse("merges:customer_merge", args=[customer.pk]))
    q = request.GET.get("q", "").strip()
    candidates = []
    if q:
        ids = [i for i in search_customer_ids(q) if i != customer.pk][:20]
        candidates = list(Customer.objects.filter(pk__in=ids, merged_into__isnull=True).prefetch_related("identities"))
    return render(request, "customers/merge.html", {
        "customer": customer, "q": q, "candidates": candidates, "history": merge_history(customer=customer),
        "error": error,
    }, status=400 if error else 200)


@require_POST
@member_required(Perm.WRITE)
def customer_merge_undo_view(request, merge_id: int):
    merge = get_object_or_404(CustomerMerge, pk=merge_id)
    try:
        customer_merge_undo(merge=merge, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The merge was undone: %(absorbed)s is a customer of its own again.")
                         % {"absorbed": merge.absorbed})
    return HttpResponseRedirect(reverse("merges:customer_merge", args=[merge.kept_id]))


def _can_write(request) -> bool:
    from guanxi.workspaces.permissions import allowed

    return allowed(request.role, Perm.WRITE)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
