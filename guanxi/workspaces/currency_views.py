"""Settings → Currency (owners only, Perm.MANAGE): the reporting currency and the exchange rates to it.

A change rebuilds nothing here: it queues the segment refresh (order figures and segments) after the commit, and
insight scores follow at their next refresh.
"""

import functools

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.commerce.money import stores_missing_rates, workspace_rates
from guanxi.web.decorators import member_required
from guanxi.web.forms import add_service_errors
from guanxi.workspaces import services
from guanxi.workspaces.models import ExchangeRate, Store
from guanxi.workspaces.permissions import Perm


class ReportingCurrencyForm(forms.Form):
    currency = forms.CharField(label=gettext_lazy("Reporting currency"), max_length=3, min_length=3)


class RateForm(forms.Form):
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, min_length=3)
    rate = forms.DecimalField(label=gettext_lazy("Rate"), max_digits=18, decimal_places=8, min_value=0,
                              help_text=gettext_lazy("Reporting-currency units for 1 unit of this currency."))
    on = forms.DateField(label=gettext_lazy("From"), required=False,
                         widget=forms.DateInput(attrs={"type": "date"}),
                         help_text=gettext_lazy("Empty: every day no dated rate covers."))


def _refresh_later(workspace) -> None:
    """Queue the segment figures' rebuild once the change is committed (they sum orders converted at the rates)."""
    from guanxi.segments.tasks import refresh_workspace_segments

    transaction.on_commit(functools.partial(refresh_workspace_segments, workspace.pk))


def _render(request, *, currency_form=None, rate_form=None, status=200):
    workspace = request.workspace
    store_currencies = sorted(set(Store.objects.values_list("currency", flat=True)) - {workspace.currency})
    return render(request, "workspaces/currency.html", {
        "nav_section": "settings",
        "rates": [(rate, format(rate.rate.normalize(), "f")) for rate in ExchangeRate.objects.all()],
        "store_currencies": store_currencies,
        "missing": stores_missing_rates(workspace_rates()),
        "currency_form": currency_form or ReportingCurrencyForm(initial={"currency": workspace.currency}),
        "rate_form": rate_form or RateForm(initial={"currency": (store_currencies or [""])[0]}),
    }, status=status)


@member_required(Perm.MANAGE)
def currency_page(request):
    return _render(request)


@require_POST
@member_required(Perm.MANAGE)
def reporting_currency_set(request):
    form = ReportingCurrencyForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                services.workspace_currency_set(workspace=request.workspace, currency=form.cleaned_data["currency"])
                _refresh_later(request.workspace)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Reporting currency set to %(cur)s.") % {"cur": request.workspace.currency})
            return redirect("web:settings_currency")
    return _render(request, currency_form=form, status=400)


@require_POST
@member_required(Perm.MANAGE)
def rate_set(request):
    form = RateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                rate = services.exchange_rate_set(workspace=request.workspace, currency=data["currency"],
                                                  rate=data["rate"], on=data["on"])
                _refresh_later(request.workspace)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("1 %(cur)s = %(rate)s %(reporting)s saved.") % {
                "cur": rate.currency, "rate": format(rate.rate.normalize(), "f"),
                "reporting": request.workspace.currency})
            return redirect("web:settings_currency")
    return _render(request, rate_form=form, status=400)


@require_POST
@member_required(Perm.MANAGE)
def rate_delete(request, rate_id: int):
    rate = get_object_or_404(ExchangeRate, pk=rate_id)  # another workspace's id: 404 (tenant manager)
    with transaction.atomic():
        services.exchange_rate_delete(exchange_rate=rate)
        _refresh_later(request.workspace)
    messages.success(request, _("Exchange rate removed."))
    return redirect("web:settings_currency")
