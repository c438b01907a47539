"""Import jobs started from the upload page: what was uploaded, how far the background run got, what it found."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from guanxi.workspaces.tenancy import WorkspaceOwned


class ImportJob(WorkspaceOwned):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded, not started")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        # The worker stopped beating while the job ran (killed, machine lost): its transaction rolled back.
        INTERRUPTED = "interrupted", _("Interrupted")

    store = models.ForeignKey("workspaces.Store", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    original_name = models.CharField(_("file"), max_length=255)
    path = models.CharField(max_length=500, help_text="The uploaded file, under GUANXI_HOME/uploads.")
    items_path = models.CharField(max_length=500, blank=True)
    format = models.CharField(_("format"), max_length=20, blank=True, help_text=_("Blank: detected."))
    on_error = models.CharField(max_length=10, default="abort")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.UPLOADED)
    rows_total = models.PositiveIntegerField(default=0, help_text="Lines in the file: the progress bar's 100%.")
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    rejects_path = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs started: 1 + retries after interruptions.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="import_job_recent")]

    def __str__(self) -> str:
        return self.original_name
