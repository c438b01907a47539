"""API tokens in Settings: create (named; the secret shown once), list and revoke.

Any member manages their own tokens; owners (Perm.MANAGE) see and revoke every token of the workspace. The
plaintext is shown only in the response to the POST that made it — it is stored nowhere (only its SHA-256).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.web.decorators import member_required
from guanxi.workspaces import permissions, services
from guanxi.workspaces.models import ApiToken
from guanxi.workspaces.permissions import Perm, allowed


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Token name"), max_length=100,
                           help_text=gettext_lazy("What the token is for, e.g. “own-site order sync”."))


def _tokens(request):
    tokens = ApiToken.objects.select_related("user")
    if not allowed(request.role, Perm.MANAGE):
        tokens = tokens.filter(user=request.user)
    return list(tokens)


def _render(request, *, form=None, plaintext="", status=200):
    return render(request, "workspaces/tokens.html", {
        "tokens": _tokens(request), "form": form or TokenForm(), "plaintext": plaintext,
        "api_url": request.build_absolute_uri("/api/v1/"),
    }, status=status)


@member_required()
def token_list(request):
    return _render(request)


@require_POST
@member_required()
def token_create(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _render(request, form=form, status=400)
    try:
        plaintext = services.api_token_create(workspace=request.workspace, user=request.user,
                                              name=form.cleaned_data["name"].strip())
    except ValidationError as error:
        form.add_error(None, error)
        return _render(request, form=form, status=400)
    # Rendered, not redirected: after a redirect the secret would have to sit in the session.
    response = _render(request, plaintext=plaintext, status=201)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@member_required()
def token_revoke(request, token_id: int):
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=token_id)
    try:
        services.api_token_revoke(token=token, by=request.user)
    except permissions.PermissionDenied:
        raise PermissionDenied from None
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name or token.prefix})
    return redirect("web:token_list")
