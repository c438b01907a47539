"""Saved segments, their membership over time, and the per-customer behaviour facts rules are evaluated on.

Membership is kept as *spells*: one SegmentMember row per stay of a customer in a segment, `left_at` empty while
the customer is still in. Current members, "who entered this week" and "who left" are then one indexed query each,
and a refresh only writes the customers whose state changed.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.commerce.models import MONEY
from guanxi.workspaces.tenancy import WorkspaceOwned


class Segment(WorkspaceOwned):
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    rules = models.JSONField(_("rules"), default=dict)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("owner"),
    )
    # Set for the segments every workspace gets (see builtin.py); those are refreshed but never edited.
    builtin_key = models.CharField(max_length=60, blank=True, editable=False)
    member_count = models.PositiveIntegerField(_("members"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    refreshed_as_of = models.DateTimeField(null=True, blank=True)
    refresh_error = models.TextField(blank=True, help_text="Why the last refresh failed; empty when it worked.")

    class Meta:
        ordering = ["builtin_key", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], condition=Q(builtin_key=""),
                                    name="segment_name_unique"),
            models.UniqueConstraint(fields=["workspace", "builtin_key"], condition=~Q(builtin_key=""),
                                    name="segment_builtin_unique"),
        ]

    def __str__(self) -> str:
        return str(self.display_name)

    @property
    def is_builtin(self) -> bool:
        return bool(self.builtin_key)

    @property
    def display_name(self):
        """The name in the reader's language: built-in segments are named from the catalogue, not the row."""
        if self.builtin_key:
            from guanxi.segments.builtin import builtin_label

            return builtin_label(self.builtin_key) or self.name
        return self.name


class SegmentMember(WorkspaceOwned):
    """One stay of a customer in a segment: entered at one refresh, left at a later one (or still in)."""

    # Millions of rows are written at a first refresh: every index costs, so only the ones queries use exist
    # (workspace and segment alone are covered by the composite indexes below).
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(_("entered"))
    left_at = models.DateTimeField(_("left"), null=True, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        constraints = [
            # At most one open stay per customer and segment; also the index behind "current members".
            models.UniqueConstraint(fields=["segment", "customer"], condition=Q(left_at__isnull=True),
                                    name="segment_member_open_unique"),
        ]
        indexes = [
            models.Index(fields=["segment", "entered_at"], name="segment_member_entered"),
            models.Index(fields=["segment", "left_at"], condition=Q(left_at__isnull=False),
                         name="segment_member_left"),
        ]


class SegmentSize(WorkspaceOwned):
    """The size of a segment after one refresh, with how many entered and left: the size-over-time chart."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    at = models.DateTimeField(_("refreshed at"))
    as_of = models.DateTimeField(_("as of"))
    size = models.PositiveIntegerField(_("members"))
    entered = models.PositiveIntegerField(_("entered"))
    left = models.PositiveIntegerField(_("left"))

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["segment", "at"], name="segment_size_at")]


class CustomerFacts(WorkspaceOwned):
    """A customer's order figures and a copy of the customer's scores, rebuilt by `facts_rebuild` (after imports
    and analytics refreshes, nightly, on demand).

    Rules read behaviour from here rather than aggregating millions of orders on every keystroke, and scores from
    here rather than from insight's CustomerScore, so that a rule mixing both joins one table to the customers,
    not two (a hash join of a million rows each: 200-300 ms). Customers with neither orders, scores nor store
    links have no row; the compiler treats a missing row as zero orders, no scores and no stores. Every customer
    with a purchase or a store link has a row of the same rebuild: counts rely on it (rules.facts_only).
    """

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.OneToOneField("customers.Customer", primary_key=True, on_delete=models.CASCADE,
                                    related_name="segment_facts")
    orders_count = models.IntegerField(default=0)
    paid_orders_count = models.IntegerField(default=0)
    refunds_count = models.IntegerField(default=0, help_text="Orders with money refunded.")
    total_paid = models.DecimalField(**MONEY, default=0, help_text="Paid amount of paid orders.")
    refunded = models.DecimalField(**MONEY, default=0)
    net_paid = models.DecimalField(**MONEY, default=0, help_text="total_paid − refunded")
    average_order_value = models.DecimalField(**MONEY, null=True, blank=True)
    first_order_at = models.DateTimeField(null=True, blank=True, help_text="First paid order.")
    last_order_at = models.DateTimeField(null=True, blank=True, help_text="Last paid order.")
    # insight.CustomerScore's columns as of the rebuild, empty (NULL) for a customer without a score row.
    rfm_r = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_f = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_m = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_segment = models.CharField(max_length=30, null=True, blank=True)
    value_class = models.CharField(max_length=30, null=True, blank=True)
    value_tier = models.CharField(max_length=1, null=True, blank=True)
    lifecycle_stage = models.CharField(max_length=20, null=True, blank=True)
    gross_profit = models.DecimalField(**MONEY, null=True, blank=True)
    p_alive = models.FloatField(null=True, blank=True)
    buy_again = models.FloatField(null=True, blank=True)
    clv = models.DecimalField(**MONEY, null=True, blank=True)
    churn_risk = models.CharField(max_length=10, null=True, blank=True)
    # The stores the customer bought in or is known to (CustomerStore), one bit per store as numbered in the
    # rebuild's `store_bits`: a store rule is then a test on this row, not a join of a million store links.
    store_bits = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["customer_id"]
        # Rules reach these rows through the customer, not the workspace: single-column indexes serve them (value
        # classes are small: 6,110 of a million customers in one measured here, 70 ms with the index, 510 without).
        # The CLV index is walked to find the "top N % by CLV" threshold.
        indexes = [
            models.Index(fields=["last_order_at"], name="facts_last_order_at"),
            models.Index(fields=["total_paid"], name="facts_total_paid_only"),
            models.Index(fields=["value_class"], name="facts_value_class"),
            models.Index(fields=["workspace", "clv"], condition=Q(clv__isnull=False), name="facts_clv"),
        ]


class FactsRebuild(WorkspaceOwned):
    """One rebuild of CustomerFacts: rules see order figures as of the newest one."""

    customers = models.PositiveIntegerField()
    store_links = models.PositiveIntegerField()
    seconds = models.FloatField()
    purchases_changed_since = models.DateTimeField(
        null=True, blank=True,
        help_text="The next purchase sync re-reads orders updated at or after this instant (empty: all orders).")
    store_bits = models.JSONField(
        default=dict, blank=True,
        help_text="Store id → its bit in CustomerFacts.store_bits (the first 62 stores by id; others have none).")

    class Meta:
        ordering = ["-created_at", "-id"]


class CustomerStore(WorkspaceOwned):
    """That a customer has bought in, or is known to, a store (from orders and store-scoped identities)."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey("workspaces.Store", on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        ordering = ["store_id", "customer_id"]
        constraints = [models.UniqueConstraint(fields=["store", "customer"], name="customer_store_unique")]


class CustomerPurchase(WorkspaceOwned):
    """One line of a paid order, with the order's customer and time: what "bought SKU / category" rules read.

    Kept by `purchases_sync` (part of the facts rebuild), which re-reads only the orders changed since the last
    sync; a rule then reads one range of one narrow index instead of joining millions of order lines to their
    orders. Derived rows, 12 million at 10 million orders: the database enforces none of the foreign keys (the
    checks would double the first sync); deleting an order or a line through the ORM still deletes its row.
    """

    line = models.OneToOneField("commerce.OrderLine", primary_key=True, on_delete=models.CASCADE,
                                related_name="+", db_constraint=False)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+",
                                  db_constraint=False, db_index=False)
    # A customer with purchases has orders, which protect the customer from deletion.
    customer = models.ForeignKey("customers.Customer", on_delete=models.DO_NOTHING, related_name="+",
                                 db_constraint=False, db_index=False)
    sku = models.CharField(max_length=100, blank=True)
    placed_at = models.DateTimeField()

    class Meta:
        ordering = ["line_id"]
        # The customer comes last so that a rule's range scan yields customers without reading the table (once
        # VACUUM has marked the pages all-visible: autovacuum does).
        indexes = [models.Index(fields=["workspace", "sku", "placed_at", "customer"], name="purchase_sku")]
