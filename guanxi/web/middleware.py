"""Request middleware: the client's address behind a proxy, the user's language setting, the active workspace for
every tenant query, and 503 (not 500) when the database is too busy to write."""

import logging
import zoneinfo

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.database_busy import RETRY_AFTER_SECONDS, is_database_busy

from guanxi.workspaces import tenancy
from guanxi.workspaces.selectors import membership_for_request

logger = logging.getLogger("guanxi.web")


class ForwardedForMiddleware:
    """With GUANXI_TRUST_PROXY=1, REMOTE_ADDR is the client the proxy saw: the last X-Forwarded-For entry.

    Only the last one: the proxy appends the address it was connected from, and everything before it is whatever
    the client chose to send.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.TRUST_PROXY:
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
            client = forwarded.rsplit(",", 1)[-1].strip()
            if client:
                request.META["REMOTE_ADDR"] = client
        return self.get_response(request)


def busy_response(request):
    """503 with Retry-After: JSON in the API's error format under /api/, a page everywhere else."""
    if request.path.startswith("/api/"):
        message = _("The database is busy with another change (an import?); nothing was saved. Try again in a "
                    "few seconds.")
        response = JsonResponse({"error": {"code": "busy", "message": message, "fields": {}}}, status=503,
                                json_dumps_params={"ensure_ascii": False})
    else:
        response = render(request, "503.html", {"retry_after": RETRY_AFTER_SECONDS}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class BusyDatabaseMiddleware:
    """A view whose write could not get the database lock answers 503 + Retry-After instead of 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_busy(exception):
            return None
        logger.warning("database busy on %s %s: %s", request.method, request.path, exception)
        return busy_response(request)


class UserLanguageMiddleware:
    """A user's saved language wins over the browser's Accept-Language (LocaleMiddleware reads the cookie)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        lang = request.COOKIES.get("guanxi_lang")
        if lang:
            request.META["HTTP_ACCEPT_LANGUAGE"] = lang
        return self.get_response(request)


class WorkspaceMiddleware:
    """Sets request.workspace / request.membership / request.role and activates the workspace for the request.

    API requests authenticate with a bearer token instead; their auth activates the token's workspace, and this
    middleware restores the previous (empty) state when the response is done either way.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = membership_for_request(request)
        request.membership = membership
        request.workspace = membership.workspace if membership else None
        request.role = membership.role if membership else None
        token = tenancy.activate(request.workspace)
        if request.workspace is not None:
            timezone.activate(zoneinfo.ZoneInfo(request.workspace.time_zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
            tenancy.deactivate(token)
