"""The django-ninja API under /api/v1 (routers are added by each app's api.py)."""

from ninja import NinjaAPI

api = NinjaAPI(title="Guanxi API", version="1", urls_namespace="api")
