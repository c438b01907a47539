"""Bearer-token authentication: a token acts as one member of one workspace, with that member's current role.

The role is read live on every request (one query together with the token), so a changed role or a removed
membership takes effect at once; a revoked token, an unknown one or one of a deactivated user is refused (401).
A role without Perm.WRITE is refused (403) on every method that is not a read, before the body is even parsed:
a write route added later is protected without remembering to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from guanxi.database_busy import write_if_free
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import ApiToken, Membership, Workspace
from guanxi.workspaces.permissions import Perm, allowed, require
from guanxi.workspaces.services import token_hash

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# last_used_at is for people auditing tokens; writing it on every request would make each read a write. It is
# best-effort: while the database is busy it is left as it was (at most a minute or an import stale).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class ApiPrincipal:
    """Who an API request acts as (request.auth)."""

    token_id: int
    user: AbstractBaseUser
    workspace: Workspace
    role: str

    def can(self, perm: Perm) -> bool:
        return allowed(self.role, perm)


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiPrincipal | None:
        token = token.strip()
        if not token:
            return None
        role = Membership.all_workspaces.filter(workspace=OuterRef("workspace"), user=OuterRef("user")).values("role")
        api_token = (
            ApiToken.all_workspaces.select_related("workspace", "user")
            .annotate(role=Subquery(role[:1]))
            .filter(key_hash=token_hash(token), revoked_at__isnull=True)
            .first()
        )
        if api_token is None or api_token.role is None or not api_token.user.is_active:
            return None
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
            # Skipped while an import holds the write lock: a read must not wait for (or fail on) bookkeeping.
            write_if_free(lambda: ApiToken.all_workspaces.filter(pk=api_token.pk).update(last_used_at=now),
                          what="the API token's last use")

        workspace = api_token.workspace
        # guanxi.api.urls restores both after the response, whatever happens here.
        tenancy.activate(workspace)
        timezone.activate(zoneinfo.ZoneInfo(workspace.time_zone))
        request.user = api_token.user
        request.workspace = workspace
        request.role = api_token.role
        if request.method not in READ_METHODS:
            require(api_token.role, Perm.WRITE)
        return ApiPrincipal(token_id=api_token.pk, user=api_token.user, workspace=workspace, role=api_token.role)
