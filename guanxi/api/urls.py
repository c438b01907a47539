from django.urls import path

from guanxi.api.root import api

urlpatterns = [path("", api.urls)]
