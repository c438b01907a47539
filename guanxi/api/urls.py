"""URLs under /api/v1/: ninja's routes, each wrapped so that no request leaves state behind or answers outside the
error format, then a JSON 404 for every other path (any method: the CSRF check is for browser sessions, and an API
client sent to a wrong or trailing-slash path must hear "no such route", not see Django's HTML CSRF page)."""

import functools

from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, path, re_path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from guanxi.api.errors import error_body, error_json
from guanxi.api.input_limits import value_problem
from guanxi.api.root import api
from guanxi.workspaces import tenancy


def _api_view(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        # Ids come as {int:…} path converters, which take any number of digits; none beyond 64 bits is an id.
        if problems := {name: [p] for name, value in kwargs.items() if (p := value_problem(value))}:
            name, messages = next(iter(problems.items()))
            return JsonResponse(error_body("invalid", f"{name}: {messages[0]}", problems), status=422)
        # An API request acts only for its token's workspace (the auth activates it), never for a browser
        # session's; whatever the auth activated is undone when the response is done.
        reset = tenancy.activate(None)
        try:
            response = view(request, *args, **kwargs)
        except Http404:  # ninja's own views outside its error handling (the /api/v1/ root)
            response = unknown_route(request)
        finally:
            tenancy.deactivate(reset)
            timezone.deactivate()
        if isinstance(response, HttpResponseNotAllowed):
            allow = response["Allow"]
            response = error_json(405, _("This URL takes %(methods)s.") % {"methods": allow})
            response["Allow"] = allow
        return response

    # Every route authenticates by token, never by session cookie, so the CSRF check has nothing to protect; ninja's
    # own views are exempt already, and its root view (/api/v1/) must answer a POST with JSON too.
    return csrf_exempt(wrapped)


@csrf_exempt
def unknown_route(request, path=""):
    return error_json(404, _("No API route at %(path)s.") % {"path": request.path})


def _wrapped(urls):
    patterns, ninja_app, ninja_namespace = urls
    patterns = [
        URLPattern(p.pattern, _api_view(p.callback), p.default_args, p.name) if isinstance(p, URLPattern) else p
        for p in patterns
    ]
    return patterns, ninja_app, ninja_namespace


urlpatterns = [
    path("", _wrapped(api.urls)),
    # Any character, newlines included (a path ending in %0A is a path too, and must not fall through to the web UI).
    re_path(r"^(?P<path>[\s\S]*)\Z", unknown_route),
]
