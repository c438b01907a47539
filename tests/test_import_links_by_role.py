"""Only the roles that may import (owner, sales) see the Import menu entry and the "Import orders" buttons — on
Home, the empty customer list and the Orders page, with and without orders; service and marketing staff, who may
write but not import, keep their "New customer" button and meet no link to a page that would answer 403."""

import pytest

from guanxi.imports.jobs import IMPORT_ROLES
from guanxi.workspaces.models import Role
from web_helpers import ROLES, WRITERS, build_shop, client_for

pytestmark = pytest.mark.django_db
LINK = 'href="/imports/"'
PAGES = ("/", "/customers/", "/orders/")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize("role", ROLES)
def test_import_links_show_for_importers_only(workspace, make_member, role):
    client = client_for(make_member(workspace, role))
    importer = role in IMPORT_ROLES
    for path in PAGES:
        html = client.get(path).content.decode()
        assert (LINK in html) == importer, path
        if importer:
            assert html.count(LINK) >= 2, path  # the menu and the page's own button
    assert client.get("/imports/").status_code == (200 if importer else 403)
    new_customer = 'href="/customers/new/"' in client.get("/customers/").content.decode()
    assert new_customer == (role in WRITERS)


@pytest.mark.parametrize("role", [Role.SALES, Role.SERVICE, Role.MARKETING])
def test_the_orders_page_with_orders_offers_import_to_importers_only(workspace, owner, make_member, role):
    build_shop(workspace, owner=owner, customers=2)
    html = client_for(make_member(workspace, role)).get("/orders/").content.decode()
    assert html.count(LINK) == (2 if role in IMPORT_ROLES else 0)  # the menu and the button above the list
