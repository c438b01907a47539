"""Request middleware: the user's language setting, and the active workspace for every tenant query."""

import zoneinfo

from django.utils import timezone

from guanxi.workspaces import tenancy
from guanxi.workspaces.selectors import membership_for_request


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
