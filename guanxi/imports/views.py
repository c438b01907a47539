"""The upload page: choose a store and file, preview it as it will be read, run it in the background, see the
summary and download the rejects. Thin: parse, check the role, call guanxi.imports.jobs, render."""

from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from guanxi.imports.formats import FORMATS
from guanxi.imports.jobs import import_job_create, import_job_progress, import_job_start, import_preview
from guanxi.imports.models import ImportJob
from guanxi.web.decorators import member_required
from guanxi.web.labels import FORMAT_LABELS
from guanxi.workspaces.models import Store
from guanxi.workspaces.permissions import Perm


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


@member_required(Perm.WRITE)
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
    jobs = ImportJob.objects.select_related("store", "created_by")[:20]
    return render(request, "imports/upload.html", {"form": form, "jobs": jobs},
                  status=400 if request.method == "POST" else 200)


@member_required(Perm.WRITE)
def import_job_page(request, job_id: int):
    job = get_object_or_404(ImportJob.objects.select_related("store", "workspace"), pk=job_id)
    context = {"job": job, "done": import_job_progress(job)}
    if job.status == ImportJob.Status.UPLOADED:
        context["preview"] = import_preview(job=job)
    template = "imports/_job_status.html" if request.htmx else "imports/job.html"
    return render(request, template, context)


@require_POST
@member_required(Perm.WRITE)
def import_job_start_view(request, job_id: int):
    job = get_object_or_404(ImportJob, pk=job_id)
    try:
        import_job_start(job=job)
    except ValidationError:
        pass  # started twice (a double click): the job page shows where it is
    return HttpResponseRedirect(reverse("imports:job", args=[job.pk]))


@member_required(Perm.WRITE)
def import_job_rejects(request, job_id: int):
    job = get_object_or_404(ImportJob, pk=job_id)
    path = Path(job.rejects_path) if job.rejects_path else None
    if path is None or not path.is_file():
        raise Http404
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"rejects-{Path(job.original_name).stem}.csv",
                        content_type="text/csv; charset=utf-8")
