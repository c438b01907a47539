"""API shapes of the token's own membership and the workspace's stores."""

from __future__ import annotations

import datetime as dt

from ninja import Schema

from guanxi.api.schemas import PageQuery, UserRef


class WorkspaceOut(Schema):
    slug: str
    name: str
    time_zone: str
    currency: str


class MeOut(Schema):
    user: UserRef
    workspace: WorkspaceOut
    role: str
    permissions: list[str]


class StoreOut(Schema):
    id: int
    name: str
    platform: str
    currency: str
    created_at: dt.datetime


class StorePage(Schema):
    items: list[StoreOut]
    count: int


class StoreQuery(PageQuery):
    platform: str = ""
