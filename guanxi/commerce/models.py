"""Products, orders, order lines and shipments. Money is Decimal; each order carries its currency."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.workspaces.tenancy import WorkspaceOwned

MONEY = {"max_digits": 14, "decimal_places": 2}


class Product(WorkspaceOwned):
    sku = models.CharField(_("SKU"), max_length=100)
    title = models.CharField(_("title"), max_length=300)
    category = models.CharField(_("category"), max_length=100, blank=True)
    price = models.DecimalField(_("price"), **MONEY, default=0)
    cost = models.DecimalField(_("cost"), **MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, default="CNY")

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "sku"], name="product_sku_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.title}"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    REFUNDED = "refunded", _("Refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")


# Statuses in which the shop received the buyer's money (refunds are counted separately).
PAID_STATUSES = frozenset(
    {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED, OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED}
)


class Order(WorkspaceOwned):
    # No single-column indexes on the three keys: (workspace, …), (store, number) and (customer, placed_at) below
    # serve every search by them, and each index more costs every order written (an import writes millions).
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey("workspaces.Store", on_delete=models.PROTECT, related_name="orders", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="orders",
                                 db_index=False)
    number = models.CharField(_("order number"), max_length=64, help_text=_("The platform's order number."))
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices)
    currency = models.CharField(max_length=3, default="CNY")
    goods_amount = models.DecimalField(_("goods"), **MONEY, default=0)
    shipping_amount = models.DecimalField(_("shipping"), **MONEY, default=0)
    discount_amount = models.DecimalField(_("discount"), **MONEY, default=0)
    paid_amount = models.DecimalField(_("paid"), **MONEY, default=0)
    refunded_amount = models.DecimalField(_("refunded"), **MONEY, default=0)
    placed_at = models.DateTimeField(_("created"), help_text=_("When the buyer placed the order."))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    receiver_name = models.CharField(_("receiver"), max_length=100, blank=True)
    receiver_phone = models.CharField(_("receiver phone"), max_length=32, blank=True)
    receiver_address = models.CharField(_("receiver address"), max_length=300, blank=True)
    # The shipping address's parts as the export gave them ("" where it had none): what the buyer's customer
    # record takes from their latest order.
    country = models.CharField(_("country"), max_length=2, blank=True, default="",
                               help_text=_("ISO 3166 code, e.g. CN."))
    province = models.CharField(_("province"), max_length=50, blank=True, default="")
    city = models.CharField(_("city"), max_length=50, blank=True, default="")
    district = models.CharField(_("district"), max_length=50, blank=True, default="")
    postcode = models.CharField(_("postcode"), max_length=20, blank=True, default="")
    buyer_message = models.TextField(_("buyer message"), blank=True)
    # The import (imports.ImportJob id) that created the order, for its undo. A bare column, no foreign key nor
    # index: the bulk writer sets it at no cost per row, and an undo finds its orders through the store's index.
    import_job_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="order_number_unique_per_store"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(refunded_amount__gte=0) & Q(goods_amount__gte=0),
                name="order_amounts_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-placed_at"], name="order_customer_recent"),
            models.Index(fields=["workspace", "-placed_at"], name="order_recent"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES


class OrderLine(WorkspaceOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sku = models.CharField(_("SKU"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=300)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), **MONEY, default=0)
    amount = models.DecimalField(_("amount"), **MONEY, default=0)
    unit_cost = models.DecimalField(_("unit cost"), **MONEY, null=True, blank=True)

    class Meta:
        ordering = ["id"]


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_TRANSIT = "in_transit", _("In transit")
    DELIVERED = "delivered", _("Delivered")
    RETURNED = "returned", _("Returned")


class Shipment(WorkspaceOwned):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+",
                                  db_index=False)  # (workspace, tracking_number) serves it
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.PENDING)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["workspace", "tracking_number"], name="shipment_tracking")]


class ProductCost(WorkspaceOwned):
    """What one unit of a SKU costs the shop, from `valid_from` (a day in the workspace's time zone; null: from
    the first order) until the next row of the same SKU. Costs of order lines are taken from here, in the cost's
    currency only (a USD cost never prices a CNY line)."""

    sku = models.CharField(_("SKU"), max_length=100)
    cost = models.DecimalField(_("cost"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)

    class Meta:
        ordering = ["sku", models.F("valid_from").asc(nulls_first=True)]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "sku", "valid_from"], condition=Q(valid_from__isnull=False),
                                    name="product_cost_unique_from"),
            models.UniqueConstraint(fields=["workspace", "sku"], condition=Q(valid_from__isnull=True),
                                    name="product_cost_unique_always"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="product_cost_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.cost} {self.currency} from {self.valid_from or '—'}"
