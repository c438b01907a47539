"""Merge pages, mounted at /customers/ (guanxi/urls.py), in the `merges` namespace."""

from django.urls import path

from guanxi.customers import merge_views

app_name = "merges"

urlpatterns = [
    path("<int:customer_id>/merge/", merge_views.customer_merge_page, name="customer_merge"),
    path("merges/<int:merge_id>/undo/", merge_views.customer_merge_undo_view, name="merge_undo"),
]
