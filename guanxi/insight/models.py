"""Stored results of an analytics refresh: each customer's current scores, dated snapshots, and the runs."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from guanxi.workspaces.tenancy import WorkspaceOwned


class ChurnRisk(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ValueTier(models.TextChoices):
    A = "A", _("A (top profit)")
    B = "B", _("B")
    C = "C", _("C")


class AnalyticsRun(WorkspaceOwned):
    """One refresh of a workspace's scores as of a date; a failed run leaves the previous scores in place."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    as_of = models.DateTimeField(_("as of"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    summary = models.JSONField(default=dict, blank=True, help_text="Fitted parameters, counts per segment/stage.")
    dashboard = models.JSONField(default=dict, blank=True,
                                 help_text="KPI trends, cohorts, products, CLV bands and lifecycle flows "
                                           "(guanxi.insight.reports), computed once per refresh.")
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


# A refresh rewrites a million score and snapshot rows; each index costs seconds of that. The single-column
# indexes Django adds to foreign keys are dropped where a composite or unique index leads with the same column
# (workspace, customer) or nothing looks rows up by it (runs are never deleted).
_NO_INDEX = {"db_index": False}


class CustomerScore(WorkspaceOwned):
    """A customer's latest scores (one row per customer), written by the refresh and read by lists and segments."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", **_NO_INDEX)
    # The customer is the key: no separate id column, whose index a refresh would fill a million times for nothing.
    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="score",
                                    primary_key=True)
    run = models.ForeignKey(AnalyticsRun, null=True, on_delete=models.SET_NULL, related_name="+", **_NO_INDEX)
    as_of = models.DateTimeField()
    recency_days = models.IntegerField(null=True, blank=True, help_text="Days since the last paid order.")
    frequency = models.IntegerField(default=0, help_text="Paid orders.")
    monetary = models.DecimalField(max_digits=14, decimal_places=2, default=0, help_text="Net paid.")
    rfm_r = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_f = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_m = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_segment = models.CharField(max_length=30, blank=True)
    value_class = models.CharField(max_length=30, blank=True)
    value_tier = models.CharField(max_length=1, blank=True, choices=ValueTier.choices)
    gross_profit = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    lifecycle_stage = models.CharField(max_length=20, blank=True)
    p_alive = models.FloatField(null=True, blank=True)
    buy_again = models.FloatField(null=True, blank=True, help_text="Probability of buying again, 0–1.")
    expected_purchases_90d = models.FloatField(null=True, blank=True)
    expected_order_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    clv = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    churn_risk = models.CharField(max_length=10, blank=True, choices=ChurnRisk.choices)

    class Meta:
        ordering = ["customer_id"]
        indexes = [
            # No index per class, stage or risk band: the dashboard counts them in one scan, the at-risk list
            # takes a third of all rows (PostgreSQL scans for it anyway), and segment rules read the copies in
            # segments.CustomerFacts; each index cost the refresh seconds at a million rows.
            # The customer list's score sorts (guanxi.customers.selectors.SCORE_SORTS).
            models.Index(fields=["workspace", "gross_profit", "customer"], name="score_profit_rank"),
            models.Index(fields=["workspace", "clv", "customer"], name="score_clv_rank",
                         condition=models.Q(clv__isnull=False)),
        ]


class ScoreSnapshot(WorkspaceOwned):
    """A customer's stage and classes on one refresh date, so transitions (upgraded, lost…) can be counted."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", **_NO_INDEX)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="score_snapshots",
                                 **_NO_INDEX)  # snapshot_one_per_day (customer, as_of) leads with it
    run = models.ForeignKey(AnalyticsRun, on_delete=models.CASCADE, related_name="snapshots", **_NO_INDEX)
    as_of = models.DateField()
    lifecycle_stage = models.CharField(max_length=20, blank=True)
    rfm_segment = models.CharField(max_length=30, blank=True)
    value_class = models.CharField(max_length=30, blank=True)
    clv = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-as_of"]
        constraints = [models.UniqueConstraint(fields=["customer", "as_of"], name="snapshot_one_per_day")]
        indexes = [models.Index(fields=["workspace", "as_of", "lifecycle_stage"], name="snapshot_day_stage")]


class AnalyticsAsOf(WorkspaceOwned):
    """The day a workspace is scored as of when a refresh names no day (nightly, after an import, the CLI).

    For a historical data set (CDNOW ends on 1998-06-30) "today" would make every customer decades old — a 1998
    buyer would be a lapsed "Champion". Workspaces without a row are scored as of today.
    """

    workspace = models.OneToOneField("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("analytics as of"))

    class Meta:
        ordering = ["workspace_id"]
