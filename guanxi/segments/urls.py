from django.urls import path

from guanxi.segments import views

app_name = "segments"

urlpatterns = [
    path("", views.segment_index, name="index"),
    path("new/", views.segment_new, name="new"),
    path("preview/", views.segment_preview_view, name="preview"),
    path("refresh/", views.segments_refresh_all_view, name="refresh_all"),
    path("<int:segment_id>/", views.segment_detail, name="detail"),
    path("<int:segment_id>/edit/", views.segment_edit, name="edit"),
    path("<int:segment_id>/refresh/", views.segment_refresh_view, name="refresh"),
    path("<int:segment_id>/delete/", views.segment_delete_view, name="delete"),
    path("<int:segment_id>/actions/", views.segment_action, name="action"),
    path("<int:segment_id>/export.<str:fmt>", views.segment_export, name="export"),
]
