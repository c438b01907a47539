"""The `guanxi` command: in-process through main() on the test database, and as a real process where the process
boundary is the point (a fresh database, an unreachable one, the server)."""

import datetime as dt
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import types
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from guanxi.cli import main, masked_url
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import ApiToken, Membership, Platform, Role, Workspace
from guanxi.workspaces.services import store_create, workspace_create

User = get_user_model()


def run(capsys, *argv):
    """main(argv) -> (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code, out, err, *fragments):
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("guanxi: error: "), err
    for fragment in fragments:
        assert fragment in err


def cli_process(args, home, timeout=120, **env):
    """`guanxi ARGS` in a child process with its own GUANXI_HOME and SQLite database unless env says otherwise."""
    environ = {k: v for k, v in os.environ.items() if k != "GUANXI_DATABASE_URL"}
    environ.update(GUANXI_HOME=str(home), **env)
    script = Path(sys.executable).with_name("guanxi")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "guanxi.cli"]
    return subprocess.run(command + list(args), env=environ, capture_output=True, text=True, timeout=timeout)


# workspace create -----------------------------------------------------------------------------------------------


def test_workspace_create_stores_name_and_time_zone(db, capsys):
    code, out, _ = run(capsys, "workspace", "create", "tea-house", "--name", "茶馆", "--time-zone", "Europe/Berlin")
    assert code == 0 and "tea-house" in out
    workspace = Workspace.objects.get(slug="tea-house")
    assert (workspace.name, workspace.time_zone) == ("茶馆", "Europe/Berlin")


def test_workspace_create_defaults_name_to_slug_and_time_zone_to_settings(db, capsys, settings):
    assert run(capsys, "workspace", "create", "plain")[0] == 0
    workspace = Workspace.objects.get(slug="plain")
    assert (workspace.name, workspace.time_zone) == ("plain", settings.TIME_ZONE)


@pytest.mark.parametrize("time_zone", ["Mars/Olympus_Mons", "Asia", "../../etc/passwd", "UTC+8"])
def test_workspace_create_refuses_an_unknown_time_zone(db, capsys, time_zone):
    assert_refused(*run(capsys, "workspace", "create", "tz", "--time-zone", time_zone), "time zone")
    assert not Workspace.objects.filter(slug="tz").exists()


def test_workspace_create_refuses_a_taken_slug(workspace, capsys):
    assert_refused(*run(capsys, "workspace", "create", workspace.slug), "slug")
    assert Workspace.objects.filter(slug=workspace.slug).count() == 1


def test_workspace_create_refuses_a_slug_that_is_not_a_slug(db, capsys):
    assert_refused(*run(capsys, "workspace", "create", "two words"), "slug")
    assert not Workspace.objects.exists()


# choosing the workspace -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["stats"],
    ["token", "--username", "x"],
    ["createuser", "--username", "x", "--password", "long-enough-1", "--role", "sales"],
])
def test_an_unknown_workspace_is_refused(workspace, capsys, command):
    assert_refused(*run(capsys, "--workspace", "nowhere", *command), "'nowhere'", workspace.slug)
    assert_refused(*run(capsys, *command, "--workspace", "nowhere"), "'nowhere'")
    assert not User.objects.filter(username="x").exists()


def test_the_only_workspace_is_the_default(workspace, capsys):
    code, out, _ = run(capsys, "stats", "--json")
    assert code == 0 and json.loads(out)["orders"] == 0


def test_with_several_workspaces_one_must_be_chosen(workspace, other_workspace, capsys):
    assert_refused(*run(capsys, "stats"), "--workspace", "acme", "rival")
    assert run(capsys, "--workspace", "rival", "stats", "--json")[0] == 0
    assert run(capsys, "stats", "--json", "--workspace", "rival")[0] == 0


def test_without_any_workspace_the_refusal_says_how_to_make_one(db, capsys):
    assert_refused(*run(capsys, "stats"), "guanxi workspace create")


# createuser -----------------------------------------------------------------------------------------------------


def test_createuser_creates_the_user_and_the_membership(workspace, capsys):
    code, out, _ = run(capsys, "createuser", "--workspace", "acme", "--username", "mei", "--password",
                       "plum-blossom-9", "--role", "sales")
    assert code == 0 and "mei" in out
    user = User.objects.get(username="mei")
    assert user.check_password("plum-blossom-9")
    assert Membership.objects.get(user=user).role == Role.SALES


def test_createuser_again_changes_password_and_role_without_a_second_membership(workspace, make_member, capsys):
    user = make_member(workspace, Role.ANALYST, username="mei")
    code, _, _ = run(capsys, "createuser", "--username", "mei", "--password", "new-password-7", "--role", "owner")
    assert code == 0
    user.refresh_from_db()
    assert user.check_password("new-password-7")
    assert [m.role for m in Membership.all_workspaces.filter(user=user)] == [Role.OWNER]


def test_createuser_adds_an_existing_user_to_a_second_workspace(workspace, other_workspace, make_member, capsys):
    user = make_member(workspace, Role.OWNER, username="mei")
    assert run(capsys, "--workspace", "rival", "createuser", "--username", "mei", "--password", "new-password-7",
               "--role", "service")[0] == 0
    roles = dict(Membership.all_workspaces.filter(user=user).values_list("workspace__slug", "role"))
    assert roles == {"acme": Role.OWNER, "rival": Role.SERVICE}


def test_createuser_refuses_an_unknown_role_and_creates_nothing(workspace, capsys):
    assert_refused(*run(capsys, "createuser", "--username", "mei", "--password", "plum-blossom-9", "--role", "boss"),
                   "'boss'", "owner", "analyst")
    assert not User.objects.filter(username="mei").exists()


def test_createuser_refuses_a_weak_password_and_creates_nothing(workspace, capsys):
    assert_refused(*run(capsys, "createuser", "--username", "mei", "--password", "short", "--role", "sales"),
                   "too short")
    assert not User.objects.filter(username="mei").exists()


# token ----------------------------------------------------------------------------------------------------------


def test_token_prints_only_a_new_token_and_stores_only_its_hash(workspace, owner, capsys):
    code, out, err = run(capsys, "token", "--username", owner.username, "--name", "shop sync")
    assert code == 0 and err == ""
    token = out.strip()
    assert out == token + "\n" and token.startswith("gx_") and len(token) > 40
    stored = ApiToken.objects.get()
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.prefix == token[:8]
    assert (stored.user, stored.name, stored.workspace) == (owner, "shop sync", workspace)
    assert token not in {str(value) for value in ApiToken.objects.values().get().values()}

    second = run(capsys, "token", "--username", owner.username)[1].strip()
    assert second != token and ApiToken.objects.count() == 2


def test_token_is_refused_for_a_user_outside_the_workspace(workspace, other_workspace, make_member, capsys):
    outsider = make_member(other_workspace, Role.OWNER)
    assert_refused(*run(capsys, "token", "--workspace", "acme", "--username", outsider.username), "not a member")
    assert_refused(*run(capsys, "token", "--workspace", "acme", "--username", "ghost"), "'ghost'")
    assert not ApiToken.all_workspaces.exists()


# stats ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def sales(workspace, store):
    """Two stores; paid orders of 100.50 and 20.00 (5.25 refunded) and an unpaid one in the first, 7.00 in the
    second, and one order in another workspace that must never count."""
    from guanxi.commerce.services import order_create
    from guanxi.customers.services import customer_create

    placed = dt.datetime(2024, 11, 11, 10, tzinfo=dt.timezone.utc)
    jd = store_create(workspace=workspace, name="Acme JD", platform=Platform.JD)
    li, wang = customer_create(name="李雷"), customer_create(name="王芳")
    order_create(store=store, customer=li, number="T1", status="completed", placed_at=placed, paid_amount="100.50")
    order_create(store=store, customer=li, number="T2", status="partially_refunded", placed_at=placed,
                 paid_amount="20.00", refunded_amount="5.25")
    order_create(store=store, customer=wang, number="T3", status="pending_payment", placed_at=placed)
    order_create(store=jd, customer=wang, number="J1", status="paid", placed_at=placed, paid_amount="7")
    rival = workspace_create(slug="rival", name="Rival")
    with tenancy.active(rival):
        rival_store = store_create(workspace=rival, name="Acme Taobao", platform=Platform.TAOBAO)
        order_create(store=rival_store, customer=customer_create(name="x"), number="T1", status="paid",
                     placed_at=placed, paid_amount="999")
    return store, jd


def test_stats_json_counts_the_workspace_with_money_as_two_place_strings(sales, capsys):
    code, out, _ = run(capsys, "--workspace", "acme", "stats", "--json")
    assert code == 0
    assert json.loads(out) == {"customers": 2, "orders": 4, "paid_orders": 3, "paid_revenue": "127.50",
                               "refunds": "5.25", "currency": "CNY",
                               "by_currency": {"CNY": {"orders": 4, "paid_orders": 3, "paid_revenue": "127.50",
                                                       "refunds": "5.25"}},
                               "missing_rates": []}


def test_stats_for_one_store(sales, capsys):
    code, out, _ = run(capsys, "--workspace", "acme", "stats", "--json", "--store", "Acme JD")
    assert code == 0
    assert json.loads(out) == {"customers": 1, "orders": 1, "paid_orders": 1, "paid_revenue": "7.00",
                               "refunds": "0.00", "currency": "CNY",
                               "by_currency": {"CNY": {"orders": 1, "paid_orders": 1, "paid_revenue": "7.00",
                                                       "refunds": "0.00"}},
                               "missing_rates": []}


def test_stats_without_json_is_readable(sales, capsys):
    code, out, _ = run(capsys, "--workspace", "acme", "stats")
    assert code == 0 and "paid revenue" in out and "127.50" in out


def test_stats_refuses_an_unknown_store_naming_the_known_ones(sales, capsys):
    assert_refused(*run(capsys, "--workspace", "acme", "stats", "--store", "Tmall"), "'Tmall'", "Acme JD")


def test_stats_does_not_see_a_store_of_another_workspace(workspace, other_workspace, capsys):
    store_create(workspace=other_workspace, name="Rival Tmall", platform=Platform.TMALL)
    assert_refused(*run(capsys, "--workspace", "acme", "stats", "--store", "Rival Tmall"), "'Rival Tmall'")


# demo, manage ---------------------------------------------------------------------------------------------------


def test_demo_builds_with_the_given_sizes_and_prints_the_login(workspace, capsys, monkeypatch):
    calls = []

    def build_demo(**kwargs):
        calls.append(kwargs)
        return types.SimpleNamespace(username="demo", password="s3cret-pw", workspace=workspace)

    # The loader itself is tested with guanxi.demo; here only the command's wiring.
    monkeypatch.setitem(sys.modules, "guanxi.demo", types.SimpleNamespace(build_demo=build_demo))
    code, out, _ = run(capsys, "demo", "--no-serve", "--customers", "30", "--orders", "40", "--port", "8123")
    assert code == 0
    assert calls == [{"customers": 30, "orders": 40, "progress": False}]
    assert "http://127.0.0.1:8123" in out and "demo" in out and "s3cret-pw" in out


def test_demo_defaults_to_the_documented_sizes(db, capsys, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "guanxi.demo", types.SimpleNamespace(
        build_demo=lambda **kw: calls.append(kw) or types.SimpleNamespace(username="u", password="p", workspace="w")))
    code, out, _ = run(capsys, "demo", "--no-serve")
    assert code == 0 and "http://127.0.0.1:8000" in out
    assert calls == [{"customers": 2000, "orders": 10000, "progress": False}]


def test_manage_passes_through_to_django(db, capsys):
    assert main(["manage", "showmigrations", "workspaces"]) == 0
    assert "[X] 0001_initial" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["no-such-command"])
    assert exit.value.code == 2


def test_masked_url_hides_only_the_password():
    assert masked_url("postgres://u:secret@127.0.0.1:1/x") == "postgres://u:***@127.0.0.1:1/x"
    assert masked_url("postgres://root@127.0.0.1:5432/guanxi") == "postgres://root@127.0.0.1:5432/guanxi"
    assert masked_url("sqlite:////tmp/g.sqlite3") == "sqlite:////tmp/g.sqlite3"


# as a process ---------------------------------------------------------------------------------------------------


def test_an_unreachable_database_is_one_line_naming_the_url_without_its_password(tmp_path):
    result = cli_process(["stats", "--json"], tmp_path, GUANXI_DATABASE_URL="postgres://u:secret@127.0.0.1:1/x")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "postgres://u:***@127.0.0.1:1/x" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_a_fresh_home_is_migrated_and_the_commands_work_end_to_end(tmp_path):
    steps = [
        ["workspace", "create", "shop", "--time-zone", "Asia/Shanghai"],
        ["createuser", "--username", "boss", "--password", "a-long-password", "--role", "owner"],
        ["token", "--username", "boss"],
        ["stats", "--json"],
    ]
    results = [cli_process(step, tmp_path) for step in steps]
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    assert results[2].stdout.startswith("gx_")
    assert json.loads(results[3].stdout)["paid_revenue"] == "0.00"
    assert (tmp_path / "guanxi.sqlite3").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_pages_and_static_files(tmp_path):
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if k != "GUANXI_DATABASE_URL"}
    environ["GUANXI_HOME"] = str(tmp_path)
    server = subprocess.Popen([sys.executable, "-m", "guanxi.cli", "serve", "--port", str(port)], env=environ,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # A fresh home is migrated first; on a loaded 2-core machine that took over a minute (a hang guard, not a
        # speed test).
        deadline = time.monotonic() + 240
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "the server did not answer within 240 s"
                time.sleep(0.3)
        assert page.status == 200
        script = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/django_htmx/htmx-2.min.js", timeout=5)
        assert script.status == 200 and len(script.read()) > 10_000
    finally:
        server.terminate()
        server.wait(timeout=20)
