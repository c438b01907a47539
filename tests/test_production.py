"""The production server for real: `guanxi serve --production` (gunicorn, WhiteNoise, the job worker) in a child
process on a free port, reached as an HTTPS proxy would reach it (Host, X-Forwarded-Proto/-For), signing in
through the real login form and its CSRF checks. `check --deploy` with the documented settings is clean.

The server gets its own data folder and database: SQLite always, and a fresh PostgreSQL database too when the
suite runs on PostgreSQL.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from django.conf import settings

BASE_URL = "https://crm.example.com"
HOST = "crm.example.com"
PASSWORD = "prod-pass-31415"
STARTUP_LIMIT = 180  # seconds; only a guard against hanging for ever, not a speed requirement
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env() -> dict[str, str]:
    """This process's environment without Guanxi's settings and what earlier tests set for Django (a browser
    test sets DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses)."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("GUANXI_", "DJANGO_"))}


def production_env(home: Path, database_url: str = "", **extra: str) -> dict[str, str]:
    """The environment README's "Run it for real" asks for, with a fresh data folder."""
    env = clean_env()
    env.update(
        GUANXI_HOME=str(home), GUANXI_DEBUG="0", GUANXI_SECRET_KEY=secrets.token_urlsafe(64),
        GUANXI_BASE_URL=BASE_URL, GUANXI_TRUST_PROXY="1", PYTHONPATH=str(ROOT), LANG="C.UTF-8",
    )
    if database_url:
        env["GUANXI_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def guanxi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "guanxi.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def _postgres_database(name: str) -> str:
    """A new database beside the suite's (same server), as a URL; dropped by `_drop_postgres_database`."""
    import psycopg

    parts = urlsplit(settings.DATABASE_URL)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


class Server:
    """A running `guanxi serve --production`, and an HTTP client that speaks to it as the proxy does."""

    def __init__(self, process: subprocess.Popen, port: int, log: Path):
        self.process, self.port, self.log = process, port, log

    def request(self, method: str, path: str, *, headers: dict | None = None, body: str | None = None,
                proxied: bool = True):
        """(status, headers as a list of pairs, body bytes); `proxied` adds what nginx/caddy would add."""
        sent = {"Host": HOST}
        if proxied:
            sent.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"})
        sent.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_LIMIT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the production server exited ({self.process.returncode}):\n{self.log.read_text()}")
            try:
                if self.request("GET", "/login/")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail(f"the production server did not answer within {STARTUP_LIMIT} s:\n{self.log.read_text()}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()


def cookies_from(headers) -> dict[str, SimpleCookie]:
    jar = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            cookie = SimpleCookie()
            cookie.load(value)
            jar.update({key: morsel for key, morsel in cookie.items()})
    return jar


def header(headers, name: str) -> str:
    return next((value for key, value in headers if key.lower() == name.lower()), "")


def _databases():
    yield "sqlite"
    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        yield "postgresql"


@pytest.fixture(scope="module", params=list(_databases()))
def server(request, tmp_path_factory):
    home = tmp_path_factory.mktemp("production-home")
    database_url = _postgres_database(f"guanxi_prodtest_{os.getpid()}") if request.param == "postgresql" else ""
    env = production_env(home, database_url)
    for args in (["workspace", "create", "acme", "--name", "Acme"],
                 ["createuser", "--username", "ann", "--password", PASSWORD, "--role", "owner"]):
        done = guanxi(env, *args)
        assert done.returncode == 0, done.stderr
    port = _free_port()
    log = home / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "guanxi.cli", "serve", "--production", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "2"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    running = Server(process, port, log)
    try:
        running.wait_until_up()
        yield running
    finally:
        running.stop()
        if database_url:
            _drop_postgres_database(database_url)


def _sign_in_form(server: Server):
    status, headers, body = server.request("GET", "/login/")
    assert status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    return token, cookies_from(headers)["csrftoken"]


def test_sign_in_behind_an_https_proxy_passes_the_csrf_checks(server):
    token, csrf_cookie = _sign_in_form(server)
    assert csrf_cookie["secure"]
    form = urlencode({"csrfmiddlewaretoken": token, "username": "ann", "password": PASSWORD, "next": ""})
    status, headers, body = server.request("POST", "/login/", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": BASE_URL, "Referer": f"{BASE_URL}/login/",
        "Cookie": f"csrftoken={csrf_cookie.value}",
    })
    assert status == 302, body.decode(errors="replace")[:2000]
    assert header(headers, "Location") == "/"
    session = cookies_from(headers)[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"]

    status, headers, body = server.request("GET", "/", headers={
        "Cookie": f"csrftoken={csrf_cookie.value}; {settings.SESSION_COOKIE_NAME}={session.value}"})
    assert status == 200
    assert b"ann" in body and b'action="/logout/"' in body
    assert "max-age=31536000" in header(headers, "Strict-Transport-Security")


def test_a_post_from_another_origin_is_refused(server):
    token, csrf_cookie = _sign_in_form(server)
    form = urlencode({"csrfmiddlewaretoken": token, "username": "ann", "password": PASSWORD})
    status, headers, _ = server.request("POST", "/login/", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example",
        "Referer": "https://evil.example/", "Cookie": f"csrftoken={csrf_cookie.value}",
    })
    assert status == 403
    assert settings.SESSION_COOKIE_NAME not in cookies_from(headers)


def test_plain_http_is_redirected_to_the_https_address(server):
    status, headers, _ = server.request("GET", "/login/?next=/orders/", proxied=False)
    assert status == 301
    assert header(headers, "Location") == f"{BASE_URL}/login/?next=/orders/"


def test_an_unknown_host_is_refused(server):
    status, _, body = server.request("GET", "/login/", headers={"Host": "attacker.example"})
    assert status == 400
    assert b"Traceback" not in body


def test_static_files_are_served_hashed_and_cacheable_and_nothing_outside_them(server):
    _, _, page = server.request("GET", "/login/")
    stylesheet = re.search(rb'href="(/static/guanxi/app\.[0-9a-f]{12}\.css)"', page).group(1).decode()
    status, headers, body = server.request("GET", stylesheet, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and body
    assert "immutable" in header(headers, "Cache-Control")
    assert header(headers, "Content-Encoding") == "gzip"
    for path in ("/static/%2e%2e/%2e%2e/settings.py", "/static/guanxi/%2e%2e/%2e%2e/%2e%2e/settings.py"):
        status, _, body = server.request("GET", path)
        assert status == 404 and b"SECRET_KEY" not in body


def test_the_job_worker_runs_beside_the_web_server(server):
    children = _children(server.process.pid)
    assert any("gunicorn" in cmd for cmd in children), children
    assert any("guanxi.cli worker" in cmd for cmd in children), children


def _children(pid: int) -> list[str]:
    """Command lines of the direct children of `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_check_deploy_reports_no_issues_with_the_documented_settings(tmp_path):
    done = guanxi(production_env(tmp_path), "manage", "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout + done.stderr


def test_check_deploy_warns_without_a_base_url(tmp_path):
    env = production_env(tmp_path)
    del env["GUANXI_BASE_URL"], env["GUANXI_TRUST_PROXY"]
    done = guanxi(env, "manage", "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in done.stderr


def test_a_base_url_that_is_not_one_is_refused(tmp_path):
    done = guanxi(production_env(tmp_path, GUANXI_BASE_URL="crm.example.com"), "manage", "check")
    assert done.returncode != 0
    assert "GUANXI_BASE_URL must look like https://crm.example.com" in done.stderr


@pytest.mark.parametrize("trusted, expected", [(True, "198.51.100.9"), (False, "127.0.0.1")])
def test_the_client_address_is_the_proxys_last_forwarded_for_entry_only_when_trusted(trusted, expected):
    from django.test import RequestFactory, override_settings

    from guanxi.web.middleware import ForwardedForMiddleware

    seen = {}

    def view(request):
        seen["address"] = request.META["REMOTE_ADDR"]

    # The first entry is whatever the client claimed; the last is the one the proxy saw.
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.9")
    with override_settings(TRUST_PROXY=trusted):
        ForwardedForMiddleware(view)(request)
    assert seen["address"] == expected


@pytest.mark.parametrize("args, message", [
    (["serve", "--production", "--workers", "0"], "--workers must be at least 1, not 0"),
    (["serve", "--workers", "3"], "--workers goes with --production"),
])
def test_serve_refuses_worker_options_that_make_no_sense_in_one_line(tmp_path, args, message):
    done = guanxi(production_env(tmp_path), *args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"guanxi: error: {message}")
    assert "Traceback" not in done.stderr
