"""What staff do with customers: logged interactions, sales opportunities (商机) and follow-up tasks (回访)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from guanxi.workspaces.tenancy import WorkspaceOwned


class InteractionKind(models.TextChoices):
    NOTE = "note", _("Note")
    CONVERSATION = "conversation", _("Conversation")
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")


class InteractionChannel(models.TextChoices):
    WANGWANG = "wangwang", _("Wangwang / Qianniu")
    WECHAT = "wechat", _("WeChat")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    SHOPIFY_CHAT = "shop_chat", _("Shop chat")
    IN_PERSON = "in_person", _("In person")
    OTHER = "other", _("Other")


class Interaction(WorkspaceOwned):
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(_("kind"), max_length=20, choices=InteractionKind.choices, default=InteractionKind.NOTE)
    channel = models.CharField(_("channel"), max_length=20, choices=InteractionChannel.choices, blank=True)
    summary = models.CharField(_("key points"), max_length=300)
    body = models.TextField(_("text"), blank=True)
    occurred_at = models.DateTimeField(_("when"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_recent")]

    def __str__(self) -> str:
        return self.summary


class OpportunityStage(models.TextChoices):
    LEAD = "lead", _("Lead")
    QUALIFIED = "qualified", _("Qualified")
    PROPOSAL = "proposal", _("Proposal")
    NEGOTIATION = "negotiation", _("Negotiation")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


OPEN_STAGES = frozenset({OpportunityStage.LEAD, OpportunityStage.QUALIFIED, OpportunityStage.PROPOSAL,
                         OpportunityStage.NEGOTIATION})


class Opportunity(WorkspaceOwned):
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="opportunities")
    title = models.CharField(_("title"), max_length=200)
    stage = models.CharField(_("stage"), max_length=20, choices=OpportunityStage.choices, default=OpportunityStage.LEAD)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="CNY")
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("owner"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["expected_close", "-id"]
        verbose_name_plural = "opportunities"
        indexes = [models.Index(fields=["workspace", "stage"], name="opportunity_stage")]

    def __str__(self) -> str:
        return self.title


class TaskKind(models.TextChoices):
    FOLLOW_UP = "follow_up", _("Follow-up")
    VISIT = "visit", _("Return visit (回访)")
    SHIPPING = "shipping", _("Shipping check")
    OTHER = "other", _("Other")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Task(WorkspaceOwned):
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices, default=TaskKind.FOLLOW_UP)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("assignee"))
    due_on = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    outcome = models.TextField(_("outcome"), blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["workspace", "assignee", "status", "due_on"], name="task_my_due"),
            models.Index(fields=["customer", "status"], name="task_customer_open"),
        ]

    def __str__(self) -> str:
        return self.title
