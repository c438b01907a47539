"""The customer database: one customer per person per workspace, with identities, profile, tags, custom fields,
consent and survey records (the "six dimensions" of MISSION.md; orders and activities live in their own apps)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.workspaces.tenancy import WorkspaceOwned


class Gender(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class Lifecycle(models.TextChoices):
    POTENTIAL = "potential", _("Potential")
    DEVELOPING = "developing", _("Developing")
    GROWING = "growing", _("Growing")
    MATURE = "mature", _("Mature")
    TERMINATING = "terminating", _("Terminating")


class Customer(WorkspaceOwned):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+",
                                  db_index=False)  # the (workspace, …) indexes below serve it
    name = models.CharField(_("name"), max_length=200, blank=True)
    # Lower-cased name for prefix search through an index (Chinese names are unaffected by lower()).
    name_key = models.CharField(max_length=200, blank=True, editable=False)
    gender = models.CharField(_("gender"), max_length=10, blank=True, choices=Gender.choices)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, default="CN")
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True, default="")
    # Set when staff change the address on the customer form: imports then leave it alone (otherwise the
    # customer's address is their latest order's).
    address_set_by_staff = models.BooleanField(default=False, editable=False)
    # B2B buyers (the seeds' "industry, size, business model").
    company = models.CharField(_("company"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    company_size = models.CharField(_("company size"), max_length=50, blank=True)
    business_model = models.CharField(_("business model"), max_length=100, blank=True)
    # Masked contact shown when no full phone is known, e.g. "138****5678" from a platform export.
    display_phone = models.CharField(_("phone (masked)"), max_length=32, blank=True)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=Lifecycle.choices, default=Lifecycle.POTENTIAL
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("owner"),
    )
    note = models.TextField(_("note"), blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The import (imports.ImportJob id) that created the customer, for its undo; a bare column, as on Order.
    import_job_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Pattern opclass so PostgreSQL answers `name_key LIKE '王%'` from the index (ignored on SQLite).
            models.Index(fields=["workspace", "name_key"], name="customer_name_prefix",
                         opclasses=["int8_ops", "varchar_pattern_ops"]),
            models.Index(fields=["workspace", "-created_at"], name="customer_recent"),
            models.Index(fields=["workspace", "owner"], name="customer_owner"),
        ]

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"


class IdentityKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WECHAT_OPENID = "wechat_openid", _("WeChat openid")
    WECHAT_UNIONID = "wechat_unionid", _("WeChat unionid")
    ALIPAY = "alipay", _("Alipay account")
    BUYER_NICK = "buyer_nick", _("Buyer nick")
    BUYER_ID = "buyer_id", _("Platform buyer id")
    TAOBAO_OUID = "taobao_ouid", _("Taobao ouid")
    TAOBAO_OMID = "taobao_omid", _("Taobao omid")
    TAOBAO_OAID = "taobao_oaid", _("Taobao OAID")


# Kinds whose value only means something within one store (a per-shop pseudonym or a store's own customer id).
STORE_SCOPED_KINDS = frozenset({IdentityKind.BUYER_ID, IdentityKind.TAOBAO_OUID, IdentityKind.TAOBAO_OAID})


class Identity(WorkspaceOwned):
    """One way to recognise a person: normalised value, unique per workspace (per store for store-scoped kinds)."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+",
                                  db_index=False)  # the (workspace, …) indexes below serve it
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    value = models.CharField(_("value"), max_length=255)
    # Last four characters of the value (phones: the digits people read out), for "find by tail" search.
    tail = models.CharField(max_length=4, blank=True, editable=False)
    store = models.ForeignKey("workspaces.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["kind", "value"]
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "value"], condition=Q(store__isnull=True), name="identity_unique"
            ),
            models.UniqueConstraint(
                fields=["workspace", "store", "kind", "value"], condition=Q(store__isnull=False),
                name="identity_unique_in_store",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "kind", "tail"], name="identity_tail"),
            models.Index(fields=["workspace", "value"], name="identity_value_prefix",
                         opclasses=["int8_ops", "varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Tag(WorkspaceOwned):
    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(max_length=7, blank=True, default="#64748b")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_name_unique")]

    def __str__(self) -> str:
        return self.name


class CustomerTag(WorkspaceOwned):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="customer_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="customer_tags")

    class Meta:
        ordering = ["tag__name"]
        constraints = [models.UniqueConstraint(fields=["customer", "tag"], name="customer_tag_unique")]


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")


class CustomField(WorkspaceOwned):
    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=10, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)

    class Meta:
        ordering = ["label"]
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="custom_field_key_unique")]

    def __str__(self) -> str:
        return self.label


class CustomFieldValue(WorkspaceOwned):
    """A customer's value for one custom field, stored in the column matching the field's type."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="custom_values")
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="values")
    value_text = models.CharField(max_length=500, blank=True)
    value_number = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["field__label"]
        constraints = [models.UniqueConstraint(fields=["customer", "field"], name="custom_value_unique")]

    @property
    def value(self):
        if self.field.field_type == FieldType.NUMBER:
            return self.value_number
        if self.field.field_type == FieldType.DATE:
            return self.value_date
        return self.value_text


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")


class Consent(WorkspaceOwned):
    """The current marketing consent of a customer on one channel, with when and where it was given."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    granted = models.BooleanField(_("granted"))
    recorded_at = models.DateTimeField(_("recorded at"))
    source = models.CharField(_("source"), max_length=100, help_text=_("e.g. shopify_export, web_form, staff"))

    class Meta:
        ordering = ["channel"]
        constraints = [models.UniqueConstraint(fields=["customer", "channel"], name="consent_unique")]


class SurveyRecord(WorkspaceOwned):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="survey_records")
    survey = models.CharField(_("survey"), max_length=200)
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2, null=True, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    taken_at = models.DateTimeField(_("taken at"))

    class Meta:
        ordering = ["-taken_at"]


class CustomerMerge(WorkspaceOwned):
    """One merge of a duplicate customer (`absorbed`) into `kept`, with what it moved, so it can be undone.

    `moved` maps a table ("identities", "orders", …) to the ids of the rows that moved from absorbed to kept;
    `replaced` holds what the merge removed or overwrote (tags both had, the older of two consents, custom values
    kept already had, profile fields it filled in) so that undoing restores both customers exactly.
    """

    kept = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_kept")
    absorbed = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_absorbed")
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    moved = models.JSONField(default=dict, blank=True)
    replaced = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["kept", "-created_at"], name="merge_kept_recent"),
            models.Index(fields=["absorbed", "-created_at"], name="merge_absorbed_recent"),
        ]

    def __str__(self) -> str:
        return f"#{self.absorbed_id} → #{self.kept_id}"
