"""Fixtures shared by every test (pytest-django; run with `python3 run.py test`, see README).

    workspace        a Workspace ("acme", Asia/Shanghai), ACTIVE for the test: tenant queries see only it
    other_workspace  a second Workspace ("rival"), not active; for "another tenant's data stays invisible" tests
    store            a Taobao store in `workspace`
    make_member      make_member(workspace, role, username=None) -> User, with password MEMBER_PASSWORD
    owner            a user who owns `workspace`
    member_password  the password every user from make_member has (for logging in with the test client)
    browser          headless Debian Chromium through Playwright; skips, saying why, when either is missing

All data is made through the real services. The active workspace lives in a context variable, so it does not
follow the test into other threads (live_server, thread pools): activate it there with `tenancy.active`.

Settings are imported by pytest-django before this file runs, so GUANXI_HOME cannot be chosen here: `run.py test`
points it at a fresh temporary folder, and `_isolated_files` below keeps uploads out of a developer's data anyway.
"""

import itertools
import os
import shutil

import pytest
from django.conf import settings
from django.test.utils import override_settings
from django.utils import translation

from guanxi.demo.cdnow import CDNOW_MASTER, load_cdnow
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform, Role
from guanxi.workspaces.services import member_add, store_create, user_ensure, workspace_create

MEMBER_PASSWORD = "test-pass-2718"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]


@pytest.fixture(autouse=True, scope="session")
def _isolated_files(tmp_path_factory):
    """Uploads and other files the code writes under GUANXI_HOME go to a temporary folder."""
    home = tmp_path_factory.mktemp("guanxi-home")
    # Real PBKDF2 costs ~0.1 s per login or user; tests check behaviour, not the hash's strength.
    fast_hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(GUANXI_HOME=home, MEDIA_ROOT=home / "uploads", STATIC_ROOT=home / "static",
                           PASSWORD_HASHERS=fast_hashers):
        yield home


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, django_db_keepdb):
    """On PostgreSQL every run gets its own test database (test_<name>_<pid>): several people and CI share one
    server, and two runs on the same test database would drop it under each other. --reuse-db keeps the name."""
    database = settings.DATABASES["default"]
    if "postgresql" in database["ENGINE"] and not django_db_keepdb:
        test = database.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{os.getpid()}"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request through the middleware leaves its language active."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def workspace(db):
    workspace = workspace_create(slug="acme", name="Acme 旗舰店", time_zone="Asia/Shanghai")
    with tenancy.active(workspace):
        yield workspace


@pytest.fixture
def other_workspace(db):
    return workspace_create(slug="rival", name="Rival Shop", time_zone="Asia/Shanghai")


@pytest.fixture
def store(workspace):
    return store_create(workspace=workspace, name="Acme Taobao", platform=Platform.TAOBAO, currency="CNY")


@pytest.fixture
def member_password() -> str:
    return MEMBER_PASSWORD


@pytest.fixture
def make_member(db):
    numbers = itertools.count(1)

    def make(workspace, role, username=None):
        user = user_ensure(username=username or f"{role}-{next(numbers)}", password=MEMBER_PASSWORD)
        member_add(workspace=workspace, user=user, role=role)
        return user

    return make


@pytest.fixture
def owner(workspace, make_member):
    return make_member(workspace, Role.OWNER, username="owner")


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium; `python3 run.py test` tries)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e .[test])")
    # Playwright's sync API runs an event loop in the test thread; Django would then refuse every ORM call.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def cdnow_subset(tmp_path):
    """The master file cut to its first 4,000 purchase lines (about 1,300 customers): real data, fast tests."""
    lines = CDNOW_MASTER.read_text().splitlines()
    path = tmp_path / "CDNOW_subset.txt"
    path.write_text("\n".join(lines[:4001]) + "\n")
    return path


@pytest.fixture
def cdnow_workspace(db, cdnow_subset):
    workspace = workspace_create(slug="cd", name="CDNOW", time_zone="America/New_York", currency="USD")
    load_cdnow(workspace=workspace, path=cdnow_subset)
    with tenancy.active(workspace):
        yield workspace
