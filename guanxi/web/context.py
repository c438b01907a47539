"""Template context shared by every page: the workspace, the role and the workspaces a user can switch to."""

from guanxi.imports.jobs import may_import
from guanxi.workspaces.permissions import Perm, allowed
from guanxi.workspaces.selectors import memberships_of

# Which sidebar entry a page belongs to, by the prefix of its URL name.
_SECTIONS = (("customer", "customers"), ("opportunity", "customers"), ("order", "orders"), ("task", "tasks"),
             ("settings", "settings"), ("store", "settings"), ("member", "settings"), ("custom_field", "settings"),
             ("cost", "settings"), ("token", "settings"),
             ("home", "home"))


def _nav_section(request) -> str:
    """The sidebar entry to highlight: pages of other apps' namespaces (e.g. `segments`) are their own section."""
    match = getattr(request, "resolver_match", None)
    if match and match.namespace and match.namespace != "web":
        return match.namespace.split(":")[0]
    name = match.url_name if match else ""
    for prefix, section in _SECTIONS:
        if name and name.startswith(prefix):
            return section
    return ""


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
        "can_import": may_import(role),  # owner and sales: the Import menu entry and buttons
        "can_see_contact": allowed(role, Perm.SEE_CONTACT),
        "my_memberships": lambda: memberships_of(request.user),
        "nav_section": _nav_section(request),
    }
