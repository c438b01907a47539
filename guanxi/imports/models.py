"""Import jobs started from the upload page: what was uploaded, how far the background run got, what it found."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from guanxi.workspaces.tenancy import WorkspaceOwned


class ImportJob(WorkspaceOwned):
    class Source(models.TextChoices):
        UPLOAD = "upload", _("Upload")
        CLI = "cli", _("Command line")

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
    # Undo (guanxi.imports.undo): where the job came from, and when and by whom its rows were taken out again.
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.UPLOAD)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    undo_summary = models.JSONField(default=dict, blank=True)
    # Sliced imports on SQLite (guanxi.imports.staging): while `stage` is "staging" the rows carrying this job's id
    # are invisible to every reader; "published" makes them visible at once; "discarded": removed after a crash.
    stage = models.CharField(max_length=10, blank=True, default="")
    stage_host = models.CharField(max_length=255, blank=True, default="")  # the staging process, for liveness
    stage_pid = models.IntegerField(null=True, blank=True)
    stage_beat = models.DateTimeField(null=True, blank=True, help_text="Last slice written while staging.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="import_job_recent"),
                   models.Index(fields=["stage"], name="import_job_stage")]

    def __str__(self) -> str:
        return self.original_name


class ImportChange(WorkspaceOwned):
    """What an import did besides creating orders and customers (those carry its id in `import_job_id`): one row
    per order it updated, with the compared fields' previous values, and per timeline note, identity, tag or
    consent it added to a customer that existed before it. Read only by its undo; written in bulk, and only for
    what changed, so a file of new orders adds few rows."""

    class Kind(models.TextChoices):
        ORDER = "order", "order updated"  # object_id: the order; previous: {field: value as text or None}
        NOTE = "note", "timeline note added"  # object_id: the Interaction
        IDENTITY = "identity", "identity added"  # object_id: the customer; previous: {kind, value, store}
        CONSENT_NEW = "consent_new", "consent added"  # object_id: the Consent
        CONSENT = "consent", "consent changed"  # object_id: the Consent; previous: {granted, recorded_at}
        CUSTOMER_TAG = "customer_tag", "tag given"  # object_id: the customer; previous: {tag: tag id}
        TAG = "tag", "tag created"  # object_id: the Tag

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    object_id = models.BigIntegerField()
    previous = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["job", "kind"], name="import_change_job"),
                   models.Index(fields=["kind", "object_id"], name="import_change_object")]
