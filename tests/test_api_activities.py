"""Interactions, follow-up tasks (回访) and opportunities over the API."""

import datetime as dt

import pytest

from guanxi.activities.models import Task
from guanxi.activities.services import interaction_log, opportunity_create, task_create, task_update
from guanxi.api.testing import ApiClient
from guanxi.customers.services import customer_create
from guanxi.workspaces.models import Role
from guanxi.workspaces.services import api_token_create
from guanxi.workspaces.tenancy import workspace_today

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Real PBKDF2 costs ~0.25 s per member made; these tests make hundreds. (Login still checks the password.)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client(workspace, make_member):
    user = make_member(workspace, Role.SALES)
    return ApiClient(api_token_create(workspace=workspace, user=user), user=user)


@pytest.fixture
def colleague(workspace, make_member):
    return make_member(workspace, Role.SERVICE)


@pytest.fixture
def wang(workspace):
    return customer_create(name="王芳")


@pytest.fixture
def li(workspace):
    return customer_create(name="李雷")


# --- interactions -------------------------------------------------------------------------------------------


def test_an_interaction_is_logged_by_the_tokens_user(client, wang):
    response = client.post("/interactions", {"customer_id": wang.pk, "kind": "conversation", "channel": "wangwang",
                                             "summary": "问 M 码有没有货", "body": "客户说上次的 L 偏大",
                                             "occurred_at": "2024-05-01T10:00:00+08:00"})
    assert response.status_code == 201, response.content
    logged = response.json()
    assert logged["customer"] == {"id": wang.pk, "name": "王芳"}
    assert (logged["kind"], logged["channel"], logged["summary"]) == ("conversation", "wangwang", "问 M 码有没有货")
    assert logged["author"]["id"] == client.user.pk
    assert logged["occurred_at"] == "2024-05-01T02:00:00Z"
    assert client.get(f"/interactions/{logged['id']}").json() == logged


def test_an_interaction_happens_now_unless_told_otherwise(client, wang):
    logged = client.post("/interactions", {"customer_id": wang.pk, "summary": "电话回访"}).json()
    occurred = dt.datetime.fromisoformat(logged["occurred_at"])
    assert abs(dt.datetime.now(dt.timezone.utc) - occurred) < dt.timedelta(minutes=1)
    assert logged["kind"] == "note" and logged["channel"] == ""


@pytest.mark.parametrize("body, path", [
    ({"summary": ""}, "summary"),
    ({"summary": "x" * 301}, "summary"),
    ({"kind": "telepathy"}, "kind"),
    ({"channel": "pigeon"}, "channel"),
    ({"customer_id": 999999}, "customer_id"),
])
def test_a_refused_interaction_names_the_field(client, wang, body, path):
    response = client.post("/interactions", {"customer_id": wang.pk, "summary": "ok", **body})
    assert response.status_code == 400
    assert path in response.json()["error"]["fields"]


def test_interactions_are_updated_and_filtered(client, wang, li):
    interaction_log(customer=li, summary="退货咨询", kind="call", channel="phone")
    logged = client.post("/interactions", {"customer_id": wang.pk, "summary": "问尺码", "channel": "wechat"}).json()
    updated = client.patch(f"/interactions/{logged['id']}", {"summary": "问尺码，推荐 M", "kind": "conversation"})
    assert updated.status_code == 200
    assert (updated.json()["summary"], updated.json()["kind"]) == ("问尺码，推荐 M", "conversation")
    assert client.patch(f"/interactions/{logged['id']}", {"author_id": 1}).status_code == 400

    def summaries(**params):
        return [i["summary"] for i in client.get("/interactions", params).json()["items"]]

    assert set(summaries()) == {"问尺码，推荐 M", "退货咨询"}
    assert summaries(customer=li.pk) == ["退货咨询"]
    assert summaries(kind="conversation") == ["问尺码，推荐 M"]
    assert summaries(channel="phone") == ["退货咨询"]


# --- tasks --------------------------------------------------------------------------------------------------


def test_a_task_is_assigned_to_the_tokens_user_unless_told_otherwise(client, wang, colleague):
    mine = client.post("/tasks", {"customer_id": wang.pk, "title": "回访：尺码合适吗", "due_on": "2024-05-03",
                                  "kind": "visit"})
    assert mine.status_code == 201, mine.content
    assert mine.json()["assignee"]["id"] == client.user.pk
    assert mine.json()["created_by"]["id"] == client.user.pk
    assert (mine.json()["status"], mine.json()["due_on"], mine.json()["kind"]) == ("open", "2024-05-03", "visit")
    theirs = client.post("/tasks", {"customer_id": wang.pk, "title": "x", "due_on": "2024-05-03",
                                    "assignee_id": colleague.pk}).json()
    assert theirs["assignee"]["id"] == colleague.pk
    nobody = client.post("/tasks", {"customer_id": wang.pk, "title": "x", "due_on": "2024-05-03",
                                    "assignee_id": None}).json()
    assert nobody["assignee"] is None
    assert client.get(f"/tasks/{nobody['id']}").json() == nobody


def test_a_task_for_someone_outside_the_workspace_is_refused(client, wang, other_workspace, make_member):
    stranger = make_member(other_workspace, Role.SALES)
    response = client.post("/tasks", {"customer_id": wang.pk, "title": "x", "due_on": "2024-05-03",
                                      "assignee_id": stranger.pk})
    assert list(response.json()["error"]["fields"]) == ["assignee_id"]
    assert not Task.objects.exists()


def test_mine_and_due_today_is_the_my_follow_ups_today_list(client, wang, li, colleague):
    today = workspace_today()
    me = client.user
    task_create(customer=wang, title="today", due_on=today, assignee=me)
    task_create(customer=wang, title="overdue", due_on=today - dt.timedelta(days=2), assignee=me)
    task_create(customer=li, title="tomorrow", due_on=today + dt.timedelta(days=1), assignee=me)
    task_create(customer=li, title="colleague's", due_on=today, assignee=colleague)
    done = task_create(customer=li, title="done already", due_on=today, assignee=me)
    task_update(task=done, status="done", outcome="ok")

    def titles(**params):
        return [t["title"] for t in client.get("/tasks", params).json()["items"]]

    assert titles(mine=True, due="today") == ["overdue", "today"]
    assert titles(mine=True, due="overdue") == ["overdue"]
    assert titles(due="today") == ["overdue", "today", "colleague's"]
    assert titles(mine=True) == ["overdue", "today", "done already", "tomorrow"]
    assert titles(mine=True, status="done") == ["done already"]
    assert titles(assignee=colleague.pk) == ["colleague's"]
    assert titles(customer=wang.pk) == ["overdue", "today"]
    assert client.get("/tasks", {"due": "someday"}).status_code == 400


def test_completing_a_task_records_when_and_what_came_of_it(client, wang):
    task = client.post("/tasks", {"customer_id": wang.pk, "title": "回访", "due_on": "2024-05-03"}).json()
    done = client.patch(f"/tasks/{task['id']}", {"status": "done", "outcome": "很满意，下月再买"})
    assert done.status_code == 200
    assert done.json()["status"] == "done" and done.json()["outcome"] == "很满意，下月再买"
    assert done.json()["completed_at"] is not None
    reopened = client.patch(f"/tasks/{task['id']}", {"status": "open"}).json()
    assert reopened["completed_at"] is None
    unassigned = client.patch(f"/tasks/{task['id']}", {"assignee_id": None}).json()
    assert unassigned["assignee"] is None
    assert client.patch(f"/tasks/{task['id']}", {"due_on": "soon"}).status_code == 400


# --- opportunities ------------------------------------------------------------------------------------------


def test_an_opportunity_is_created_with_its_value_as_a_decimal_string(client, wang):
    response = client.post("/opportunities", {"customer_id": wang.pk, "title": "公司团购 T 恤 200 件",
                                              "value": "12800.50", "expected_close": "2024-06-30"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["value"], created["currency"], created["stage"]) == ("12800.50", "CNY", "lead")
    assert created["owner"]["id"] == client.user.pk
    assert created["expected_close"] == "2024-06-30"
    assert client.get(f"/opportunities/{created['id']}").json() == created


def test_opportunities_move_through_stages_and_filter_by_stage(client, wang, li, colleague):
    opportunity_create(customer=li, title="婚礼伴手礼", stage="negotiation", owner=colleague)
    created = client.post("/opportunities", {"customer_id": wang.pk, "title": "团购", "value": 5000}).json()
    moved = client.patch(f"/opportunities/{created['id']}", {"stage": "won", "value": "5200.00"})
    assert moved.status_code == 200
    assert (moved.json()["stage"], moved.json()["value"]) == ("won", "5200.00")

    def titles(**params):
        return [o["title"] for o in client.get("/opportunities", params).json()["items"]]

    assert titles(stage="won") == ["团购"]
    assert titles(stage="negotiation") == ["婚礼伴手礼"]
    assert titles(owner=colleague.pk) == ["婚礼伴手礼"]
    assert titles(customer=wang.pk) == ["团购"]
    assert client.get("/opportunities", {"stage": "dreaming"}).status_code == 400


@pytest.mark.parametrize("body, path", [
    ({"value": "-1"}, "value"),
    ({"value": "1.999"}, "value"),
    ({"stage": "maybe"}, "stage"),
    ({"title": ""}, "title"),
    ({"owner_id": 999999}, "owner_id"),
])
def test_a_refused_opportunity_update_names_the_field(client, wang, body, path):
    created = client.post("/opportunities", {"customer_id": wang.pk, "title": "团购"}).json()
    response = client.patch(f"/opportunities/{created['id']}", body)
    assert response.status_code == 400
    assert path in response.json()["error"]["fields"]
    assert client.get(f"/opportunities/{created['id']}").json() == created
