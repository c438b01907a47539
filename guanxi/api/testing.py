"""Helpers for tests of the API: a client that sends a bearer token, and the list of every route the API has
(so tests that must cover every route — other workspace → 404, read-only role → 403 — cover new ones too)."""

from __future__ import annotations

import dataclasses
import json
import re

from django.test import Client

from guanxi.api.auth import READ_METHODS

PREFIX = "/api/v1"


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    path: str  # e.g. "/customers/{customer_id}", relative to /api/v1
    operation_id: str
    needs_token: bool

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def writes(self) -> bool:
        return self.method not in READ_METHODS

    def url(self, **params) -> str:
        return PREFIX + self.path.format(**params)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def api_routes(api=None) -> list[Route]:
    """Every operation of the API, read from the api object itself (ninja 1.x keeps them on its bound routers)."""
    if api is None:
        from guanxi.api.root import api
    routes = []
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            full = "/" + "/".join(part.strip("/") for part in (bound.prefix, path) if part.strip("/"))
            full = re.sub(r"{\w+:(\w+)}", r"{\1}", full)  # {int:customer_id} → {customer_id}
            for operation in path_view.operations:
                for method in operation.methods:
                    routes.append(Route(method=method, path=full, operation_id=api.get_openapi_operation_id(operation),
                                        needs_token=bool(operation.auth_callbacks)))
    return sorted(routes, key=lambda r: (r.path, r.method))


class ApiClient:
    """django.test.Client speaking JSON to /api/v1 with `Authorization: Bearer <token>` (when it has a token)."""

    def __init__(self, token: str | None = None, *, user=None):
        self.token = token
        self.user = user
        self.client = Client()

    def request(self, method: str, path: str, data=None, *, token: str | None = None, headers=None):
        token = token if token is not None else self.token
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = path if path.startswith(PREFIX) else PREFIX + path
        if method in ("GET", "HEAD"):
            return self.client.generic(method, url, headers=headers, QUERY_STRING=_query(data))
        body = "" if data is None else json.dumps(data, ensure_ascii=False)
        return self.client.generic(method, url, body, content_type="application/json", headers=headers)

    def get(self, path, params=None, **kw):
        return self.request("GET", path, params, **kw)

    def post(self, path, data=None, **kw):
        return self.request("POST", path, data, **kw)

    def patch(self, path, data=None, **kw):
        return self.request("PATCH", path, data, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def _query(params) -> str:
    from urllib.parse import urlencode

    if not params:
        return ""
    return urlencode({k: ("true" if v is True else "false" if v is False else v) for k, v in params.items()})
