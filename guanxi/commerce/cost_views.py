"""Settings → Product costs (owners): list, set one, delete one, or upload a `sku,cost[,currency][,from]` CSV."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.commerce.costs import CostFileError, product_cost_delete, product_cost_set, product_costs_import
from guanxi.commerce.models import MONEY, ProductCost
from guanxi.web.forms import DateInput, add_service_errors
from guanxi.web.decorators import member_required
from guanxi.workspaces.permissions import Perm

LIST_LIMIT = 500  # rows shown; a shop with more SKUs keeps them in its CSV


class CostForm(forms.Form):
    sku = forms.CharField(label=gettext_lazy("SKU"), max_length=100)
    cost = forms.DecimalField(label=gettext_lazy("Unit cost"), min_value=0, max_digits=MONEY["max_digits"],
                              decimal_places=MONEY["decimal_places"])
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, min_length=3)
    valid_from = forms.DateField(label=gettext_lazy("Valid from"), required=False, widget=DateInput(),
                                 help_text=gettext_lazy("Empty: for every order."))


class CostFileForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file (sku,cost[,currency][,from])"))


def _render(request, *, form=None, file_form=None, status=200):
    costs = ProductCost.objects.all()
    return render(request, "commerce/costs.html", {
        "costs": list(costs[:LIST_LIMIT]), "total": costs.count(), "limit": LIST_LIMIT,
        "form": form or CostForm(initial={"currency": request.workspace.currency}),
        "file_form": file_form or CostFileForm(),
    }, status=status)


@member_required(Perm.MANAGE)
def cost_list(request):
    return _render(request)


@require_POST
@member_required(Perm.MANAGE)
def cost_set(request):
    form = CostForm(request.POST)
    if form.is_valid():
        try:
            row, created = product_cost_set(**form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Cost of %(sku)s saved.") % {"sku": row.sku})
            return redirect("web:cost_list")
    return _render(request, form=form, status=400)


@require_POST
@member_required(Perm.MANAGE)
def cost_delete(request, cost_id: int):
    cost = get_object_or_404(ProductCost, pk=cost_id)
    product_cost_delete(cost=cost)
    messages.success(request, _("Cost of %(sku)s deleted.") % {"sku": cost.sku})
    return redirect("web:cost_list")


@require_POST
@member_required(Perm.MANAGE)
def cost_upload(request):
    file_form = CostFileForm(request.POST, request.FILES)
    if file_form.is_valid():
        upload = file_form.cleaned_data["file"]
        try:
            result = product_costs_import(data=upload.read(), path=upload.name)
        except CostFileError as error:
            file_form.add_error("file", _("Line %(line)s, column “%(column)s”: %(message)s — nothing was changed.")
                                % {"line": error.line, "column": error.column, "message": error.message})
        else:
            messages.success(request, _("%(rows)s costs read: %(created)s new, %(updated)s changed; "
                                        "%(lines)s order lines re-costed.") % {
                "rows": result.rows, "created": result.created, "updated": result.updated,
                "lines": result.lines_costed})
            return redirect("web:cost_list")
    return _render(request, file_form=file_form, status=400)
