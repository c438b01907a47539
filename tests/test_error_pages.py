"""403, 404 and 500 pages render for visitors signed in or out, in English and Chinese, with DEBUG off (as
pytest-django runs); an encoded `../` under /static/ is a plain 404.

This module is also the URLconf of the tests marked `urls`: the real URLs plus two views that fail on purpose.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path, reverse

import guanxi.urls
from guanxi.workspaces.models import Role
from web_helpers import client_for


def _forbidden(request):
    raise PermissionDenied


def _boom(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("test-forbidden/", _forbidden), path("test-boom/", _boom), *guanxi.urls.urlpatterns]
handler500 = guanxi.urls.handler500

LANGUAGES = {"en": ("Not found", "Something went wrong", "Not allowed"), "zh-hans": ("未找到", "出错了", "您无权打开此页面")}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unknown_url_is_a_404_page_for_a_signed_out_visitor(db, lang):
    response = Client(headers={"accept-language": lang}).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert LANGUAGES[lang][0] in page
    assert reverse("web:login") in page or reverse("web:home") in page
    assert "sidebar" not in page  # no app menus for someone who is not in a workspace


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unknown_url_is_a_404_page_with_the_menus_for_a_member(workspace, owner, lang):
    client = client_for(owner)
    response = client.get("/no-such-page/", headers={"accept-language": lang})
    assert response.status_code == 404
    page = response.content.decode()
    assert LANGUAGES[lang][0] in page
    assert "sidebar" in page and reverse("web:logout") in page


def test_another_workspaces_customer_is_the_same_404_page(workspace, owner, other_workspace):
    from guanxi.customers.services import customer_create
    from guanxi.workspaces import tenancy

    with tenancy.active(other_workspace):
        theirs = customer_create(name="Rival's buyer")
    response = client_for(owner).get(reverse("web:customer_detail", args=[theirs.pk]))
    assert response.status_code == 404
    assert "Rival" not in response.content.decode()


@pytest.mark.urls("test_error_pages")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_403_page_renders_for_a_signed_out_visitor(db, lang):
    response = Client(headers={"accept-language": lang}).get("/test-forbidden/")
    assert response.status_code == 403
    assert LANGUAGES[lang][2] in response.content.decode()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_403_page_names_the_role_of_a_member_who_may_not(workspace, make_member, lang):
    analyst = make_member(workspace, Role.ANALYST)
    response = client_for(analyst).get(reverse("web:settings"), headers={"accept-language": lang})
    assert response.status_code == 403
    page = response.content.decode()
    assert ("Your role cannot do this" if lang == "en" else "你的角色无权执行此操作") in page
    assert "sidebar" in page


@pytest.mark.urls("test_error_pages")
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_a_500_page_renders_signed_in_or_out(workspace, owner, lang, signed_in):
    client = client_for(owner) if signed_in else Client()
    client.raise_request_exception = False
    response = client.get("/test-boom/", headers={"accept-language": lang})
    assert response.status_code == 500
    page = response.content.decode()
    assert LANGUAGES[lang][1] in page
    assert "a bug in a view" not in page and "Traceback" not in page


@pytest.mark.parametrize("url", [
    "/static/%2e%2e/%2e%2e/settings.py",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/guanxi/%2e%2e/%2e%2e/%2e%2e/settings.py",
    "/static/..%2f..%2fsettings.py",
])
def test_an_encoded_dot_dot_under_static_is_not_found(db, url):
    response = Client().get(url)
    assert response.status_code == 404
    assert b"SECRET_KEY" not in response.content


def test_the_apps_static_files_are_still_served(db):
    response = Client().get("/static/guanxi/app.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)
