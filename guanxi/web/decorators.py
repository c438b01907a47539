"""Access rules for pages: signed in, member of the active workspace, and allowed by the role's permissions."""

import functools

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from guanxi.workspaces.permissions import Perm, allowed


def member_required(perm: Perm = Perm.VIEW):
    """Sign-in page for visitors; a friendly 403 for users with no workspace; 403 when the role lacks `perm`.

    Objects are looked up through the fail-closed tenant managers, so another workspace's id raises DoesNotExist
    and `get_object_or_404` answers 404 without any check here.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.workspace is None:
                return render(request, "web/no_workspace.html", status=403)
            if not allowed(request.role, perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
