"""Upload page and import jobs, mounted at /imports/ (guanxi/urls.py)."""

from django.urls import path

from guanxi.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_upload, name="upload"),
    path("jobs/<int:job_id>/", views.import_job_page, name="job"),
    path("jobs/<int:job_id>/start/", views.import_job_start_view, name="start"),
    path("jobs/<int:job_id>/retry/", views.import_job_retry_view, name="retry"),
    path("jobs/<int:job_id>/rejects.csv", views.import_job_rejects, name="rejects"),
    path("jobs/<int:job_id>/undo/", views.import_job_undo_view, name="undo"),
]
