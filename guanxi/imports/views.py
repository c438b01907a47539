"""The upload page: choose a store and file, preview it as it will be read, run it in the background, see the
summary and download the rejects. Thin: parse, check the role, call guanxi.imports.jobs, render."""

import functools
from pathlib import Path

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from guanxi.imports.formats import FORMATS
from guanxi.imports.consumer import consumer_alive
from guanxi.imports.jobs import (
    import_job_check, import_job_create, import_job_progress, import_job_retry, import_job_start, import_preview,
    may_import, stale_seconds,
)
from guanxi.imports.models import ImportJob
from guanxi.web.decorators import member_required
from guanxi.web.labels import FORMAT_LABELS
from guanxi.workspaces.models import Store
from guanxi.workspaces.permissions import Perm, allowed


class UploadForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.all_workspaces.none())
    file = forms.FileField(label=_("Order export (CSV or XLSX)"))
    items = forms.FileField(label=_("Taobao item report (宝贝报表), optional"), required=False)
    format = forms.ChoiceField(label=_("Format"), required=False,
                               choices=[("", _("Detect from the header"))] + [(f, FORMAT_LABELS.get(f, f)) for f in FORMATS])
    on_error = forms.ChoiceField(label=_("Bad rows"), choices=[
        ("abort", _("Import nothing and show what is wrong")),
        ("skip", _("Import the good rows, download the bad ones")),
    ])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.all()


def importer_required(view):
    """Signed-in member whose role may import (owner, sales): the upload page, its jobs and their actions."""

    @functools.wraps(view)
    @member_required(Perm.WRITE)
    def wrapped(request, *args, **kwargs):
        if not may_import(request.role):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@importer_required
def import_upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_job_create(store=form.cleaned_data["store"], upload=form.cleaned_data["file"],
                                    items_upload=form.cleaned_data["items"], fmt=form.cleaned_data["format"],
                                    on_error=form.cleaned_data["on_error"], by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return HttpResponseRedirect(reverse("imports:job", args=[job.pk]))
    jobs = [import_job_check(job) for job in ImportJob.objects.select_related("store", "created_by")[:20]]
    return render(request, "imports/upload.html", {"form": form, "jobs": jobs},
                  status=400 if request.method == "POST" else 200)


@importer_required
def import_job_page(request, job_id: int):
    job = import_job_check(get_object_or_404(ImportJob.objects.select_related("store", "workspace"), pk=job_id))
    context = {"job": job, "done": import_job_progress(job), "stale_seconds": int(stale_seconds()),
               # Checked only while it matters: a queued job with nobody to run it must say so.
               "no_consumer": job.status == ImportJob.Status.QUEUED and not consumer_alive(),
               **_undo_context(request, job)}
    if job.status == ImportJob.Status.UPLOADED:
        context["preview"] = import_preview(job=job)
    template = "imports/_job_status.html" if request.htmx else "imports/job.html"
    return render(request, template, context)


@require_POST
@importer_required
def import_job_start_view(request, job_id: int):
    job = get_object_or_404(ImportJob, pk=job_id)
    try:
        import_job_start(job=job)
    except ValidationError:
        pass  # started twice (a double click): the job page shows where it is
    return HttpResponseRedirect(reverse("imports:job", args=[job.pk]))


@require_POST
@importer_required
def import_job_retry_view(request, job_id: int):
    job = import_job_check(get_object_or_404(ImportJob, pk=job_id))
    try:
        import_job_retry(job=job)
    except ValidationError:
        pass  # retried twice, or it finished after all: the job page shows where it is
    return HttpResponseRedirect(reverse("imports:job", args=[job.pk]))


@importer_required
def import_job_rejects(request, job_id: int):
    job = get_object_or_404(ImportJob, pk=job_id)
    path = Path(job.rejects_path) if job.rejects_path else None
    if path is None or not path.is_file():
        raise Http404
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"rejects-{Path(job.original_name).stem}.csv",
                        content_type="text/csv; charset=utf-8")


def _undo_context(request, job: ImportJob) -> dict:
    """The Undo button is for owners (who may manage the workspace), on a finished import not undone yet."""
    return {"can_undo": (allowed(request.role, Perm.MANAGE) and job.status == ImportJob.Status.DONE
                         and job.undone_at is None)}


@require_POST
@member_required(Perm.MANAGE)
def import_job_undo_view(request, job_id: int):
    """Undo the import (guanxi.imports.undo); a refusal (later imports changed its orders) answers 409 with the
    job page saying why, nothing changed."""
    from guanxi.imports.undo import UndoRefused, import_undo

    job = get_object_or_404(ImportJob.objects.select_related("store", "workspace"), pk=job_id)
    try:
        summary = import_undo(job=job, by=request.user)
    except UndoRefused as exc:
        messages.error(request, str(exc))
        context = {"job": job, "done": import_job_progress(job), **_undo_context(request, job)}
        return render(request, "imports/job.html", context, status=409)
    messages.success(request, _("Import undone: %(removed)s orders removed, %(restored)s restored, %(customers)s "
                                "customers removed.") % {"removed": summary["orders_removed"],
                                                         "restored": summary["orders_restored"],
                                                         "customers": summary["customers_removed"]})
    return HttpResponseRedirect(reverse("imports:job", args=[job.pk]))
