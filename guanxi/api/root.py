"""The django-ninja API under /api/v1: bearer-token auth, one error format, and each app's router.

Schema at /api/v1/openapi.json, interactive docs at /api/v1/docs (Swagger UI served from ninja's own static files,
nothing from a CDN). Every route needs a token unless its router says otherwise (webhooks sign their requests).
"""

from ninja import NinjaAPI, Swagger

from guanxi.activities.api import interactions, opportunities, tasks
from guanxi.api import errors
from guanxi.api.auth import BearerToken
from guanxi.api.input_limits import GuanxiParser
from guanxi.commerce.api import router as orders
from guanxi.customers.api import router as customers
from guanxi.customers.merge_api import router as customer_merges
from guanxi.imports.api import router as webhooks
from guanxi.imports.jobs_api import router as imports
from guanxi.segments.api import router as segments
from guanxi.workspaces.api import router as workspace

DESCRIPTION = """
Customers, orders, interactions, follow-up tasks and opportunities of one workspace.

**Auth.** Send `Authorization: Bearer <token>`; `guanxi token --workspace SLUG --username U` prints one. A token
acts as its user in its workspace with the user's current role; a read-only role (analyst) gets 403 on writes.

**Errors** always look like `{"error": {"code": "invalid", "message": "…", "fields": {"identities[0].value":
["…"]}}}`; codes: invalid, bad_request, unauthorized, forbidden, not_found, method_not_allowed, conflict,
too_large, server_error. Another workspace's object answers 404, like one that never existed. A value that parses
but no column can hold answers 422 (code invalid): text with NUL (\\u0000) or a lone surrogate, an integer beyond
64 bits, a date before the year 2 or after 9998, more than 100 items in one list; a body over the upload limit
(2.5 MB) answers 413.

**Lists** answer `{"items": [...], "count": n}` and take `limit` (≤ 200) and `offset`. **Money** is a decimal
string ("129.90"). Times are ISO 8601; a time sent without an offset is read in the workspace's time zone.
"""


class GuanxiAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        # Short, stable ids (list_customers, create_order) for generated clients; a test keeps them unique.
        return operation.view_func.__name__


api = GuanxiAPI(
    title="Guanxi API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=BearerToken(),
    parser=GuanxiParser(),
    # validatorUrl: Swagger UI would otherwise send the schema to validator.swagger.io for a badge.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": True}),
)
errors.install(api)

api.add_router("", workspace)
api.add_router("/customers", customers)
api.add_router("/customers", customer_merges)
api.add_router("/orders", orders)
api.add_router("/interactions", interactions)
api.add_router("/tasks", tasks)
api.add_router("/opportunities", opportunities)
api.add_router("/segments", segments)
api.add_router("/webhooks", webhooks)
api.add_router("/imports", imports)
