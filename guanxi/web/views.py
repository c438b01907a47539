"""Sign-in and sign-out, the home page, the workspace switcher and the language setting."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth import logout
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from guanxi.activities.selectors import my_follow_ups_today
from guanxi.customers.models import Customer
from guanxi.customers.selectors import order_summaries
from guanxi.web.decorators import member_required
from guanxi.web.home_kpis import home_kpis
from guanxi.workspaces.models import Membership, UserPreference
from guanxi.workspaces.selectors import SESSION_KEY
from guanxi.workspaces.tenancy import current_workspace, workspace_today

LANGUAGE_COOKIE = "guanxi_lang"
RECENT_COOKIE = "guanxi_recent"
RECENT_MAX_AGE = 90 * 24 * 3600  # seconds
RECENT_KEEP = 8


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or request.headers.get("referer") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


def _set_language_cookie(response, language: str) -> None:
    if language:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax")
    else:
        response.delete_cookie(LANGUAGE_COOKIE, samesite="Lax")


class LoginView(auth_views.LoginView):
    """Sign in, then restore the user's saved language and the workspace they last worked in."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        preference = UserPreference.objects.filter(user=self.request.user).first()
        if preference is not None:
            if preference.last_workspace_id and Membership.all_workspaces.filter(
                user=self.request.user, workspace_id=preference.last_workspace_id
            ).exists():
                self.request.session[SESSION_KEY] = preference.last_workspace_id
            if preference.language:
                _set_language_cookie(response, preference.language)
        return response


def logout_view(request):
    """POST signs out; GET (a typed URL or an old bookmark) asks to confirm, since sign-out must not be a link."""
    if request.method == "POST":
        logout(request)
        return redirect(settings.LOGOUT_REDIRECT_URL)
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    return render(request, "web/logout.html")


def _recent_salt(request) -> str:
    # Per user and workspace: another user's or workspace's list in the same browser does not verify.
    return f"recent:{request.user.pk}:{current_workspace().pk}"


def recent_customer_ids(request) -> list[int]:
    """The customers this user opened last in this workspace, newest first (from a signed cookie)."""
    value = request.get_signed_cookie(RECENT_COOKIE, default="", salt=_recent_salt(request), max_age=RECENT_MAX_AGE)
    return [int(part) for part in value.split(",") if part.isdigit()]


def remember_customer(request, response, customer_id: int) -> None:
    """Keep the customers a user opened last, for the home page, in a signed cookie on `response`.

    A cookie rather than the session: the session is in the database, and writing it on every 360 page cost a
    committed UPDATE per view (a tenth of the page's time). The cookie holds only ids; pages still read the
    customers through the workspace scope.
    """
    current = recent_customer_ids(request)
    if current[:1] == [customer_id]:
        return  # already the latest: nothing to send while staff reload the same customer
    recent = [customer_id, *(cid for cid in current if cid != customer_id)][:RECENT_KEEP]
    response.set_signed_cookie(RECENT_COOKIE, ",".join(map(str, recent)), salt=_recent_salt(request),
                               max_age=RECENT_MAX_AGE, httponly=True, samesite="Lax",
                               secure=settings.SESSION_COOKIE_SECURE)


@member_required()
def home(request):
    follow_ups = list(my_follow_ups_today(request.user)[:50])
    recent_ids = recent_customer_ids(request)
    recent = []
    if recent_ids:
        by_id = Customer.objects.filter(id__in=recent_ids).in_bulk()
        recent = [by_id[cid] for cid in recent_ids if cid in by_id]
    newest = list(Customer.objects.filter(merged_into__isnull=True)[:8])
    summaries = order_summaries([c.id for c in recent + newest])
    return render(request, "web/home.html", {
        "follow_ups": follow_ups,
        "today": workspace_today(),
        "recent_customers": recent,
        "newest_customers": newest,
        "summaries": summaries,
        "kpis": home_kpis(),
    })


@require_POST
def workspace_switch(request):
    """Work in another workspace — only one the user is a member of (any other id answers 404)."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    try:
        workspace_id = int(request.POST.get("workspace", ""))
    except ValueError:
        raise Http404 from None
    membership = Membership.all_workspaces.filter(user=request.user, workspace_id=workspace_id).first()
    if membership is None:
        raise Http404
    request.session[SESSION_KEY] = workspace_id
    UserPreference.objects.update_or_create(user=request.user, defaults={"last_workspace_id": workspace_id})
    return HttpResponseRedirect(reverse("web:home"))


@require_POST
def set_language(request):
    """Save the chosen language ('' follows the browser) for the user and in the cookie the middleware reads."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = ""
    if request.user.is_authenticated:
        UserPreference.objects.update_or_create(user=request.user, defaults={"language": language})
    response = HttpResponseRedirect(_safe_next(request, reverse("web:home")))
    _set_language_cookie(response, language)
    return response


def server_error(request):
    """handler500: 503 when the failure was a database too busy to write (raised outside a view, e.g. in a
    middleware), else the 500 page, rendered with no request so that a broken database cannot break it too."""
    import sys

    from django.http import HttpResponseServerError
    from django.template import loader

    from guanxi.database_busy import is_database_busy
    from guanxi.web.middleware import busy_response

    exc = sys.exc_info()[1]
    if exc is not None and is_database_busy(exc):
        return busy_response(request)
    return HttpResponseServerError(loader.get_template("500.html").render())


def static_file(request, path: str):
    """The apps' own CSS/JS with DEBUG off (`insecure`); a path that climbs out of them (an encoded `../`) is
    simply not found, not a 400 that says how the lookup failed."""
    from django.contrib.staticfiles.views import serve
    from django.core.exceptions import SuspiciousFileOperation

    try:
        return serve(request, path, insecure=True)
    except SuspiciousFileOperation:
        raise Http404(path) from None
