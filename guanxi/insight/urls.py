from django.urls import path

from guanxi.insight import views

app_name = "insight"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("at-risk/follow-ups/", views.at_risk_follow_ups, name="at_risk_follow_ups"),
]
