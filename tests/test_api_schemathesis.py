"""Schemathesis over every operation of /api/v1: no request, valid or not, answers 5xx or an error outside the
one JSON error format.

The operations are read from the live OpenAPI schema at run time, so an endpoint added later is fuzzed too. Each
operation gets a fresh seeded workspace (records of every kind, from tests/test_api.py's make_records) and a real
token of its owner; ids the fuzzer draws below 1000 are mapped onto the seeded records so that the handlers behind
the 404 are reached as well. Generation is fixed (seed, derandomized) and bounded (EXAMPLES per operation and
mode), so a run is repeatable and takes about a minute per database.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from guanxi.customers.models import Customer
from guanxi.workspaces.models import Role
from guanxi.workspaces.services import api_token_create
from test_api import make_records

EXAMPLES = 30
SEED = 2718
# Ids below this are taken as "some existing record" and mapped onto the seeded ones; larger ones stay as drawn.
MAPPED_BELOW = 1000


@pytest.fixture
def seeded(workspace, make_member):
    """(token, ids): an owner's token, and the id of a seeded record for each name a path, body or query uses."""
    user = make_member(workspace, Role.OWNER)
    ids = make_records(workspace, user, n=2)
    duplicate = Customer.objects.filter(name__startswith="重复客户").first()
    ids.update(absorb_id=duplicate.pk, owner_id=user.pk, assignee_id=user.pk)
    # Query filters name the same things without the _id.
    ids.update(customer=ids["customer_id"], store=ids["store_id"], owner=user.pk, assignee=user.pk)
    return api_token_create(workspace=workspace, user=user, name="schemathesis"), ids


@pytest.fixture(autouse=True)
def _connection_kept():
    """As django.test.Client does: a request's end must not close the connection that holds the test transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _load_schema():
    """The API's own OpenAPI schema; requests go to the WSGI app in the test's thread, inside its transaction.
    (Serving the schema touches no database, so it can be read while pytest collects.)"""
    from guanxi.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    loaded.config.seed = SEED
    loaded.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES, deterministic=True,
                                      with_security_parameters=False)
    return loaded


schema = _load_schema()


def _mapped(values, ids: dict) -> None:
    """Replace small ints under a known name by the seeded record's id, in place (in dicts at any depth)."""
    if isinstance(values, list):
        for item in values:
            _mapped(item, ids)
    elif isinstance(values, dict):
        for name, value in values.items():
            if name in ids and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAPPED_BELOW:
                values[name] = ids[name]
            else:
                _mapped(value, ids)


def _map_ids(case, ids: dict) -> None:
    for values in (case.path_parameters, case.query, case.body):
        _mapped(values, ids)


def assert_in_error_format(case, response) -> None:
    where = f"{case.method} {case.formatted_path} → {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:2000]}\n{case.as_curl_command()}"
    if response.status_code >= 400:
        content_type = next((v[0] if isinstance(v, list) else v for k, v in response.headers.items()
                             if k.lower() == "content-type"), "")
        assert content_type.startswith("application/json"), f"{where}: not JSON ({content_type}): {response.text[:300]}"
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, f"{where}: {body}"


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_request_answers_a_server_error_or_an_error_outside_the_format(case, seeded, db):
    token, ids = seeded
    _map_ids(case, ids)
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert_in_error_format(case, response)
