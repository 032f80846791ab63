"""The JSON API under /api/v1/ (Django Ninja; OpenAPI 3.1 at /api/v1/openapi.json)."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Yiwang API",
    version="1",
    description="一网 (Yiwang) digital-government platform API.",
    urls_namespace="api",
)
