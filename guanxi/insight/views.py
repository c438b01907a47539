"""The insight dashboard (charts from the latest refresh, the at-risk list) and its one-click follow-ups.

Views parse input, check the role, call one service or selector and render. Scores are read through the
fail-closed tenant managers, so another workspace's customers never appear and their ids answer 404.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from guanxi.analytics import RFM_SEGMENTS, STAGES, VALUE_CLASSES
from guanxi.customers.models import Customer, Lifecycle
from guanxi.insight.follow_ups import at_risk_tasks_create
from guanxi.insight.forms import KpiRangeForm
from guanxi.insight.model_errors import model_error_text
from guanxi.insight.models import ChurnRisk
from guanxi.insight.selectors import analytics_as_of, at_risk_list, insight_dashboard, range_kpis
from guanxi.web.decorators import member_required
from guanxi.workspaces.models import Store
from guanxi.workspaces.permissions import Perm
from guanxi.workspaces.tenancy import workspace_today

FOLLOW_UP_DAYS = 3
# Model names are shown only inside the page's "how this is computed" disclosure.
MODEL_NAMES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "gamma_gamma": "Gamma-Gamma"}


def _label(names: dict[str, tuple[str, str]], code: str) -> str:
    english, chinese = names.get(code, (code, code))
    return chinese if (get_language() or "").startswith("zh") else english


def _stage_label(stage: str) -> str:
    """The analytics' name of a stage, else the customer profile's (e.g. "lost"), else the code."""
    if stage in STAGES:
        return _label(STAGES, stage)
    return str(dict(Lifecycle.choices).get(stage, stage))


def _range_context(request) -> dict:
    """The KPI range form and, when it was submitted and is valid, the KPIs of that range."""
    if "start" not in request.GET:
        # A workspace scored as of a fixed day (historical data) shows the 30 days up to that day.
        today = analytics_as_of() or workspace_today()
        return {"range_form": KpiRangeForm(initial={"start": today - dt.timedelta(days=29), "end": today})}
    form = KpiRangeForm(request.GET)
    if not form.is_valid():
        return {"range_form": form}
    store = form.cleaned_data["store"]
    return {"range_form": form, "range_store": store,
            "range_kpis": range_kpis(start=form.cleaned_data["start"], end=form.cleaned_data["end"],
                                     store_id=store.pk if store else None) or {}}


def _flows(flows: dict | None) -> dict | None:
    """Lifecycle flows with stage names in the reader's language, customers who stayed put left out (they would
    dwarf every movement); the sankey needs distinct before/after nodes."""
    if not flows:
        return None
    before, after = _("%(stage)s (before)"), _("%(stage)s (now)")
    return {
        "counts": flows["counts"],
        "links": [{"source": before % {"stage": _label(STAGES, a)}, "target": after % {"stage": _label(STAGES, b)},
                   "value": n} for a, b, n in flows["pairs"] if n and a != b],
    }


@member_required()
def dashboard(request):
    data = insight_dashboard()
    context = {"nav_section": "insight", **data, **_range_context(request)}
    if data["run"] is not None:
        chinese = (get_language() or "").startswith("zh")
        reports = data["reports"]
        stores = {str(s.pk): s.name for s in Store.objects.order_by("name")}
        context["charts"] = {
            "rf": data["rf_heatmap"],
            "value_classes": [[_label(VALUE_CLASSES, code), n] for code, n in sorted(data["value_classes"].items())],
            "lifecycle": [[_stage_label(stage), n] for stage, n in data["lifecycle"]],
            "pareto": data["pareto"],
            "kpis": data["kpis"],
            "kpis_by_store": [[stores[k], rows] for k, rows in reports.get("kpis", {}).get("stores", {}).items()
                              if k in stores],
            "cohorts": reports.get("cohorts", []),
            "clv": reports.get("clv_histogram", []),
            "products": reports.get("products", [])[:10],
            "flows": _flows(reports.get("flows")),
            # The reporting currency every money figure on the charts is in (axis names, tooltips).
            "currency": data["currency"],
        }
        summary = data["run"].summary
        details = summary.get("model_error_details") or {}
        context["model_errors"] = [(MODEL_NAMES.get(name) or _("Buy-again model"), model_error_text(details.get(name)))
                                   for name in sorted(summary.get("model_errors") or {})]
        context["products"] = reports.get("products", [])
        context["flows"] = context["charts"]["flows"]
        context["flows_since"] = reports.get("flows_since")
        at_risk = at_risk_list()
        customers = Customer.objects.in_bulk(at_risk["customer_id"].to_list()) if at_risk.height else {}
        context["at_risk"] = [
            {**row, "customer": customers.get(row["customer_id"]),
             "reason": row["reason_zh"] if chinese else row["reason_en"],
             "churn_risk_label": ChurnRisk(row["churn_risk"]).label}
            for row in (at_risk.iter_rows(named=True) if at_risk.height else [])
        ]
        context["rfm_segments"] = sorted(((_label(RFM_SEGMENTS, c), n) for c, n in data["rfm_segments"].items()),
                                         key=lambda item: -item[1])
    return render(request, "insight/dashboard.html", context)


@member_required(Perm.WRITE)
@require_POST
def at_risk_follow_ups(request):
    ids = request.POST.getlist("customer")
    try:
        customer_ids = [int(i) for i in ids] if ids else None
    except ValueError:
        raise Http404 from None
    if customer_ids is not None and Customer.objects.filter(pk__in=customer_ids).count() != len(set(customer_ids)):
        raise Http404  # another workspace's (or no) customer
    try:
        tasks = at_risk_tasks_create(due_on=workspace_today() + dt.timedelta(days=FOLLOW_UP_DAYS),
                                     created_by=request.user, customer_ids=customer_ids)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, ngettext("%(n)d follow-up task created.", "%(n)d follow-up tasks created.",
                                           len(tasks)) % {"n": len(tasks)})
    return redirect("insight:dashboard")
