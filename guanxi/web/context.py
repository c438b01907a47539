"""Template context shared by every page: the workspace, the role and the workspaces a user can switch to."""

from guanxi.workspaces.permissions import Perm, allowed
from guanxi.workspaces.selectors import memberships_of


def workspace(request) -> dict:
    ws = getattr(request, "workspace", None)
    if ws is None:
        return {}
    role = request.role
    return {
        "workspace": ws,
        "role": role,
        "can_write": allowed(role, Perm.WRITE),
        "can_manage": allowed(role, Perm.MANAGE),
        "can_see_contact": allowed(role, Perm.SEE_CONTACT),
        "my_memberships": lambda: memberships_of(request.user),
    }
