"""Reads about workspaces, stores and members."""

from django.contrib.auth.models import AbstractBaseUser

from guanxi.workspaces.models import Membership, Store, Workspace

SESSION_KEY = "guanxi_workspace_id"


def memberships_of(user: AbstractBaseUser) -> list[Membership]:
    """All of a user's memberships, across workspaces (for the workspace switcher)."""
    return list(Membership.all_workspaces.filter(user=user).select_related("workspace").order_by("workspace__name"))


def membership_for_request(request) -> Membership | None:
    """The membership the signed-in user acts with: the workspace chosen in the session, else the first one."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    qs = Membership.all_workspaces.filter(user=user).select_related("workspace")
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        membership = qs.filter(workspace_id=chosen).first()
        if membership is not None:
            return membership
    return qs.order_by("workspace__slug").first()


def workspace_by_slug(slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug).first()


def stores() -> list[Store]:
    return list(Store.objects.all())
