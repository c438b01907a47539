"""Who the token acts as, and the workspace's stores (read-only over the API; settings manage them)."""

from ninja import Query, Router

from guanxi.api.errors import ErrorOut
from guanxi.api.schemas import paginate
from guanxi.workspaces.models import Store
from guanxi.workspaces.permissions import Perm
from guanxi.workspaces.schemas import MeOut, StorePage, StoreQuery

router = Router(tags=["workspace"])


@router.get("/me", response={200: MeOut, 401: ErrorOut}, summary="The token's user, workspace and role")
def me(request):
    principal = request.auth
    return {
        "user": principal.user,
        "workspace": principal.workspace,
        "role": principal.role,
        "permissions": [perm.value for perm in Perm if principal.can(perm)],
    }


@router.get("/stores", response={200: StorePage, 400: ErrorOut, 401: ErrorOut}, summary="List stores")
def list_stores(request, query: Query[StoreQuery]):
    stores = Store.objects.all()
    if query.platform:
        stores = stores.filter(platform=query.platform)
    return paginate(stores, query)
