"""Every page of the web UI, in the `web` namespace. The paths are fixed: benchmarks and bookmarks use them."""

from django.urls import path, re_path

from guanxi.activities import views as activities
from guanxi.commerce import cost_views
from guanxi.commerce import views as commerce
from guanxi.customers import views as customers
from guanxi.web import help as help_pages
from guanxi.web import views
from guanxi.workspaces import currency_views
from guanxi.workspaces import token_views
from guanxi.workspaces import views as workspaces

app_name = "web"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("", views.home, name="home"),
    path("workspace/", views.workspace_switch, name="workspace_switch"),
    path("language/", views.set_language, name="set_language"),
    path("help/imports/", help_pages.help_page, {"topic": "imports"}, name="help_imports"),
    # Customers and the customer 360
    path("customers/", customers.customer_list, name="customer_list"),
    path("customers/new/", customers.customer_new, name="customer_new"),
    path("customers/<int:customer_id>/", customers.customer_detail, name="customer_detail"),
    path("customers/<int:customer_id>/edit/", customers.customer_edit, name="customer_edit"),
    path("customers/<int:customer_id>/notes/", customers.customer_note_add, name="customer_note_add"),
    path("customers/<int:customer_id>/tasks/", customers.customer_task_add, name="customer_task_add"),
    path("customers/<int:customer_id>/opportunities/", customers.customer_opportunity_add,
         name="customer_opportunity_add"),
    path("customers/<int:customer_id>/identities/", customers.customer_identity_add, name="customer_identity_add"),
    path("customers/<int:customer_id>/identities/<int:identity_id>/remove/", customers.customer_identity_remove,
         name="customer_identity_remove"),
    path("customers/<int:customer_id>/consent/", customers.customer_consent, name="customer_consent"),
    path("opportunities/<int:opportunity_id>/stage/", customers.opportunity_stage, name="opportunity_stage"),
    # Orders
    path("orders/", commerce.order_list, name="order_list"),
    path("orders/<int:order_id>/", commerce.order_detail, name="order_detail"),
    # Follow-ups
    path("tasks/", activities.task_list, name="task_list"),
    path("tasks/<int:task_id>/complete/", activities.task_complete, name="task_complete"),
    # Settings (owners)
    path("settings/", workspaces.settings_page, name="settings"),
    path("settings/stores/", workspaces.store_add, name="store_add"),
    path("settings/currency/", currency_views.currency_page, name="settings_currency"),
    path("settings/currency/reporting/", currency_views.reporting_currency_set, name="reporting_currency_set"),
    path("settings/currency/rates/", currency_views.rate_set, name="rate_set"),
    path("settings/currency/rates/<int:rate_id>/delete/", currency_views.rate_delete, name="rate_delete"),
    path("settings/stores/<int:store_id>/", workspaces.store_edit, name="store_edit"),
    path("settings/stores/<int:store_id>/delete/", workspaces.store_delete, name="store_delete"),
    path("settings/members/", workspaces.member_add, name="member_add"),
    path("settings/members/<int:membership_id>/role/", workspaces.member_role, name="member_role"),
    path("settings/members/<int:membership_id>/remove/", workspaces.member_remove, name="member_remove"),
    path("settings/fields/", workspaces.custom_field_add, name="custom_field_add"),
    path("settings/fields/<int:field_id>/delete/", workspaces.custom_field_delete, name="custom_field_delete"),
    path("settings/stores/<int:store_id>/webhook/", workspaces.store_webhook, name="store_webhook"),
    path("settings/costs/", cost_views.cost_list, name="cost_list"),
    path("settings/costs/set/", cost_views.cost_set, name="cost_set"),
    path("settings/costs/upload/", cost_views.cost_upload, name="cost_upload"),
    path("settings/costs/<int:cost_id>/delete/", cost_views.cost_delete, name="cost_delete"),
    # API tokens: every member manages their own, owners every token of the workspace
    path("api-tokens/", token_views.token_list, name="token_list"),
    path("api-tokens/new/", token_views.token_create, name="token_create"),
    path("api-tokens/<int:token_id>/revoke/", token_views.token_revoke, name="token_revoke"),
    # The app serves its own CSS/JS (no CDN, no separate web server needed); `insecure` lets it do so with
    # DEBUG off. Files are found in the apps' static folders, so no collectstatic step is needed either.
    re_path(r"^static/(?P<path>.*)$", views.static_file, name="static"),
]
