from django.urls import include, path, re_path

from guanxi.api.urls import unknown_route

urlpatterns = [
    path("api/v1/", include("guanxi.api.urls")),
    re_path(r"^api(?:/[\s\S]*)?\Z", unknown_route),  # /api, /api/v1, /api/v2/…: a JSON 404 too, never a web page
    path("segments/", include("guanxi.segments.urls")),
    path("insight/", include("guanxi.insight.urls")),
    path("customers/", include("guanxi.customers.merge_urls")),
    path("imports/", include("guanxi.imports.urls")),
    path("", include("guanxi.web.urls")),
]

handler500 = "guanxi.web.views.server_error"
