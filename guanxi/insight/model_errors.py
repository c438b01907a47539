"""Why a model was not fitted this time, in the reader's language.

`guanxi.analytics` reports each failure as an English message (for logs and `guanxi analytics refresh --json`)
and a code with its figures (`AnalyticsError.details`, stored in the run's summary as ``model_error_details``);
the page shows the code's sentence. A failure without a known code (a run stored before codes were) reads as the
general sentence rather than in English on a Chinese page.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


def model_error_text(detail: dict | None) -> str:
    """The translated reason for one model's failure from its ``{"code", ...}`` detail."""
    detail = detail or {}
    code = detail.get("code")
    if code == "insufficient_data" and "found" in detail and "required" in detail:
        return _("It needs at least %(required)d repeat customers (who bought on two or more days); the shop has "
                 "%(found)d so far. It appears as more customers come back.") % {
            "required": detail["required"], "found": detail["found"]}
    if code == "homogeneous_dropout":
        return _("Customers seem to stop buying all at the same rate, which this model cannot describe.")
    if code == "no_convergence":
        return _("The model found no stable fit: purchases vary too little from one customer to another.")
    return _("The model could not be fitted to these customers.")
