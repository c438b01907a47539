"""While another connection holds SQLite's write lock (as an import does), signing in and reading keep working and
a write answers 503 with Retry-After (a page on the web, the JSON error format on /api/v1), never 500.

Real parts: `guanxi serve` in a child process on its own SQLite file, and a second sqlite3 connection in this test
holding `BEGIN IMMEDIATE` on that file. GUANXI_SQLITE_BUSY_TIMEOUT_MS=300 keeps the waits short. On PostgreSQL the
best-effort bookkeeping is tested against a real row lock held by a second connection.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from test_production import ROOT, _free_port, clean_env, cookies_from, guanxi, header

STARTUP_LIMIT = 120  # seconds; a guard against hanging, not a speed requirement
PASSWORD = "busy-pass-27182"


class DevServer:
    def __init__(self, home, env):
        self.home, self.env, self.port = home, env, _free_port()
        self.database = home / "guanxi.sqlite3"
        self.log = home / "serve.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "guanxi.cli", "serve", "--no-worker", "--port", str(self.port)],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def request(self, method, path, *, headers=None, body=None):
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers={"Host": f"127.0.0.1:{self.port}", **(headers or {})})
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def wait_until_up(self):
        deadline = time.monotonic() + STARTUP_LIMIT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"guanxi serve exited:\n{self.log.read_text()}")
            with contextlib.suppress(OSError):
                if self.request("GET", "/login/")[0] == 200:
                    return
            time.sleep(0.3)
        pytest.fail(f"guanxi serve did not answer within {STARTUP_LIMIT} s:\n{self.log.read_text()}")

    @contextlib.contextmanager
    def write_lock(self):
        """Hold SQLite's write lock from a second connection, as a running import does."""
        holder = sqlite3.connect(self.database, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
        finally:
            holder.rollback()
            holder.close()

    def query(self, sql, *params):
        with contextlib.closing(sqlite3.connect(self.database)) as reader:
            return reader.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("busy-home")
    env = clean_env()
    env.update(GUANXI_HOME=str(home), GUANXI_SQLITE_BUSY_TIMEOUT_MS="300", PYTHONPATH=str(ROOT), LANG="C.UTF-8")
    for args in (["workspace", "create", "acme"],
                 ["createuser", "--username", "ann", "--password", PASSWORD, "--role", "owner"]):
        done = guanxi(env, *args)
        assert done.returncode == 0, done.stderr
    running = DevServer(home, env)
    try:
        running.wait_until_up()
        yield running
    finally:
        running.process.terminate()
        running.process.wait(timeout=60)


def _new_token(server) -> str:
    done = guanxi(server.env, "token", "--username", "ann")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _sign_in(server) -> dict[str, str]:
    """Sign in through the real form; returns the cookies to send."""
    status, headers, body = server.request("GET", "/login/")
    assert status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    csrf = cookies_from(headers)["csrftoken"].value
    form = urlencode({"csrfmiddlewaretoken": token, "username": "ann", "password": PASSWORD})
    status, headers, body = server.request("POST", "/login/", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}",
        "Origin": f"http://127.0.0.1:{server.port}"})
    assert status == 302, body.decode(errors="replace")[:3000]
    session = cookies_from(headers)[settings.SESSION_COOKIE_NAME].value
    return {"csrftoken": csrf, settings.SESSION_COOKIE_NAME: session, "_form_token": token}


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items() if not k.startswith("_"))


def test_signing_in_works_while_another_connection_holds_the_write_lock(server):
    last_login = server.query("SELECT last_login FROM auth_user WHERE username = 'ann'")
    with server.write_lock():
        cookies = _sign_in(server)
        status, _, body = server.request("GET", "/", headers={"Cookie": _cookie_header(cookies)})
    assert status == 200
    assert b"ann" in body and b'action="/logout/"' in body
    # last_login is bookkeeping: skipped while busy, recorded on the next sign-in that finds the lock free.
    assert server.query("SELECT last_login FROM auth_user WHERE username = 'ann'") == last_login
    _sign_in(server)
    assert server.query("SELECT last_login FROM auth_user WHERE username = 'ann'") not in (last_login, [(None,)])


def test_a_web_write_that_cannot_get_the_lock_answers_503_with_retry_after(server):
    cookies = _sign_in(server)
    form = urlencode({"csrfmiddlewaretoken": cookies["_form_token"], "language": "zh-hans"})
    with server.write_lock():
        status, headers, body = server.request("POST", "/language/", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": _cookie_header(cookies),
            "Origin": f"http://127.0.0.1:{server.port}"})
    assert status == 503, body.decode(errors="replace")[:3000]
    assert int(header(headers, "Retry-After")) > 0
    assert "text/html" in header(headers, "Content-Type")
    assert b"The database is busy" in body
    assert server.query("SELECT language FROM workspaces_userpreference") in ([], [("",)])

    # The same request once the lock is free: saved.
    status, _, _ = server.request("POST", "/language/", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": _cookie_header(cookies),
        "Origin": f"http://127.0.0.1:{server.port}"})
    assert status == 302
    assert server.query("SELECT language FROM workspaces_userpreference") == [("zh-hans",)]


def test_an_api_read_works_and_skips_the_tokens_last_use_while_the_lock_is_held(server):
    token = _new_token(server)
    auth = {"Authorization": f"Bearer {token}"}
    with server.write_lock():
        status, _, body = server.request("GET", "/api/v1/customers", headers=auth)
    assert status == 200, body[:2000]
    assert "items" in json.loads(body)
    assert server.query("SELECT last_used_at FROM workspaces_apitoken ORDER BY id DESC LIMIT 1") == [(None,)]

    assert server.request("GET", "/api/v1/customers", headers=auth)[0] == 200
    assert server.query("SELECT last_used_at FROM workspaces_apitoken ORDER BY id DESC LIMIT 1") != [(None,)]


def test_an_api_write_that_cannot_get_the_lock_answers_503_in_the_error_format(server):
    auth = {"Authorization": f"Bearer {_new_token(server)}", "Content-Type": "application/json"}
    payload = json.dumps({"name": "林晓"})
    with server.write_lock():
        status, headers, body = server.request("POST", "/api/v1/customers", headers=auth, body=payload)
    assert status == 503, body[:2000]
    assert int(header(headers, "Retry-After")) > 0
    error = json.loads(body)["error"]
    assert error["code"] == "busy" and error["message"]
    assert server.query("SELECT count(*) FROM customers_customer") == [(0,)]

    status, _, body = server.request("POST", "/api/v1/customers", headers=auth, body=payload)
    assert status == 201, body[:2000]
    assert server.query("SELECT count(*) FROM customers_customer") == [(1,)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL row lock")
def test_on_postgresql_a_locked_token_row_does_not_hold_up_an_api_read(transactional_db, workspace, owner):
    import psycopg

    from guanxi.workspaces.models import ApiToken
    from guanxi.workspaces.services import api_token_create

    token = api_token_create(workspace=workspace, user=owner, name="locked")
    row = ApiToken.all_workspaces.get(key_hash__isnull=False, name="locked")
    db = connection.settings_dict
    with psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432) as holder:
        holder.execute("SELECT 1 FROM workspaces_apitoken WHERE id = %s FOR UPDATE", [row.pk])
        with connection.cursor() as cursor:
            # Without the best-effort write the request would wait for the lock for ever: fail instead of hanging.
            cursor.execute("SET statement_timeout = 20000")
        response = Client().get("/api/v1/customers", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.content
        holder.rollback()
    row.refresh_from_db()
    assert row.last_used_at is None
