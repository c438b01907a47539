"""Tenancy: a workspace is one business; it has stores (one per shop on a platform) and members with roles."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from guanxi.workspaces.tenancy import WorkspaceOwned


class Platform(models.TextChoices):
    TAOBAO = "taobao", _("Taobao")
    TMALL = "tmall", _("Tmall")
    JD = "jd", _("JD")
    PINDUODUO = "pinduoduo", _("Pinduoduo")
    DOUYIN = "douyin", _("Douyin")
    SHOPIFY = "shopify", _("Shopify")
    OWN_SITE = "own_site", _("Own site")
    OFFLINE = "offline", _("Offline")
    WECHAT = "wechat", _("WeChat")


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    SALES = "sales", _("Sales")
    SERVICE = "service", _("Service")
    MARKETING = "marketing", _("Marketing")
    ANALYST = "analyst", _("Analyst (read-only)")


class Workspace(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug


class Store(WorkspaceOwned):
    name = models.CharField(_("name"), max_length=200)
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    # Shared secret for signed webhooks (Shopify); blank when the store has no live feed.
    webhook_secret = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="store_name_unique_per_workspace")]

    def __str__(self) -> str:
        return self.name


class ExchangeRate(WorkspaceOwned):
    """1 `currency` = `rate` units of the workspace's reporting currency, from `valid_from` on (a day in the
    workspace time zone; NULL: every day not covered by a dated rate). Set by the owner, never fetched."""

    currency = models.CharField(_("currency"), max_length=3)
    rate = models.DecimalField(_("rate"), max_digits=18, decimal_places=8)
    valid_from = models.DateField(_("from"), null=True, blank=True)

    class Meta:
        ordering = ["currency", models.F("valid_from").desc(nulls_last=True)]
        constraints = [
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
            models.UniqueConstraint(fields=["workspace", "currency", "valid_from"], name="exchange_rate_per_day"),
            # NULLs are distinct in a unique index: the undated rate needs its own.
            models.UniqueConstraint(fields=["workspace", "currency"], condition=models.Q(valid_from__isnull=True),
                                    name="exchange_rate_undated"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} ({self.valid_from or '*'})"


class Membership(WorkspaceOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        ordering = ["user__username"]
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace_id} ({self.role})"


class ApiToken(WorkspaceOwned):
    """A bearer token acting as one member in one workspace. Only a SHA-256 of the secret is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="First characters of the token, to recognise it in lists.")
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class UserPreference(models.Model):
    """Per-user UI settings: language (blank = follow the browser) and the workspace last opened."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(_("language"), max_length=10, blank=True, choices=settings.LANGUAGES)
    last_workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
