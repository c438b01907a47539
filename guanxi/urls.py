from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("guanxi.api.urls")),
    path("segments/", include("guanxi.segments.urls")),
    path("insight/", include("guanxi.insight.urls")),
    path("customers/", include("guanxi.customers.merge_urls")),
    path("imports/", include("guanxi.imports.urls")),
    path("", include("guanxi.web.urls")),
]

handler500 = "guanxi.web.views.server_error"
