"""What each role may do. One table, consulted by views, API and CLI through `require`/`allowed`."""

from enum import Enum

from guanxi.workspaces.models import Role


class Perm(str, Enum):
    VIEW = "view"  # read customers, orders, activities
    WRITE = "write"  # create/update customers, orders, interactions, tasks, opportunities
    MANAGE = "manage"  # stores, members and roles, custom fields
    SEE_CONTACT = "see_contact"  # full phone numbers and addresses (others see them masked)


_GRANTS: dict[str, frozenset[Perm]] = {
    Role.OWNER: frozenset(Perm),
    Role.SALES: frozenset({Perm.VIEW, Perm.WRITE, Perm.SEE_CONTACT}),
    Role.SERVICE: frozenset({Perm.VIEW, Perm.WRITE, Perm.SEE_CONTACT}),
    Role.MARKETING: frozenset({Perm.VIEW, Perm.WRITE}),
    Role.ANALYST: frozenset({Perm.VIEW}),
}


class PermissionDenied(Exception):
    """The member's role does not allow this action (HTTP 403)."""


def allowed(role: str | None, perm: Perm) -> bool:
    return role is not None and perm in _GRANTS.get(role, frozenset())


def require(role: str | None, perm: Perm) -> None:
    if not allowed(role, perm):
        raise PermissionDenied(f"The role {role!r} may not {perm.value}.")
