from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightConfig(AppConfig):
    """The Django side of customer insight: stored scores, refresh runs, KPIs (the maths is guanxi.analytics)."""

    name = "guanxi.insight"
    verbose_name = _("Insight")
