"""Fail-closed scoping: tenant queries without an active workspace raise; another workspace's rows are invisible."""

import pytest
from django.apps import apps

from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.workspaces import tenancy
from guanxi.workspaces.tenancy import WorkspaceNotActive, WorkspaceOwned

pytestmark = pytest.mark.django_db


def tenant_models():
    return [m for m in apps.get_models() if issubclass(m, WorkspaceOwned)]


def test_every_guanxi_model_with_rows_of_a_business_is_a_tenant_model():
    shared = {"Workspace", "UserPreference"}  # the tenant itself and a per-user setting
    for model in apps.get_app_config("customers").get_models():
        assert issubclass(model, WorkspaceOwned), model
    for label in ("commerce", "activities"):
        for model in apps.get_app_config(label).get_models():
            assert issubclass(model, WorkspaceOwned), model
    for model in apps.get_app_config("workspaces").get_models():
        assert issubclass(model, WorkspaceOwned) or model.__name__ in shared, model


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m.__name__)
def test_a_query_without_an_active_workspace_raises_instead_of_leaking(model):
    with pytest.raises(WorkspaceNotActive):
        list(model.objects.all())


def test_another_workspaces_customer_is_not_found(workspace, other_workspace):
    mine = customer_create(name="王芳")
    with tenancy.active(other_workspace):
        theirs = customer_create(name="李雷")
        assert list(Customer.objects.values_list("name", flat=True)) == ["李雷"]
    assert list(Customer.objects.values_list("name", flat=True)) == ["王芳"]
    with pytest.raises(Customer.DoesNotExist):
        Customer.objects.get(pk=theirs.pk)
    assert Customer.objects.get(pk=mine.pk) == mine


def test_the_active_workspace_is_restored_after_a_nested_context(workspace, other_workspace):
    with tenancy.active(other_workspace):
        assert tenancy.current_workspace() == other_workspace
    assert tenancy.current_workspace() == workspace
