"""The JSON API under /api/v1/ (Django Ninja; OpenAPI 3.1 at /api/v1/openapi.json, docs at /api/v1/docs).

Every error, from any router, is ``{"code", "message", "fields"}`` (see ``core.api_errors``
and docs/api.md). Each app adds its router here, one line each.
"""

from ninja import Swagger

from yiwang.core.api_errors import YiwangAPI, YiwangJSONRenderer, YiwangParser

api = YiwangAPI(
    title="Yiwang API",
    version="1",
    description="一网 (Yiwang) digital-government platform API. Errors: `{code, message, fields}`; see docs/api.md.",
    urls_namespace="api",
    renderer=YiwangJSONRenderer(),
    parser=YiwangParser(),
    # Swagger UI from the package's own static files (ninja is in INSTALLED_APPS); no validator
    # badge, which would call validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
)

api.add_router("", "yiwang.identity.api.router")
api.add_router("/catalog/", "yiwang.catalog.api.router")
api.add_router("/cases/", "yiwang.cases.api.router")
api.add_router("/cases/bundles/", "yiwang.cases.bundle_api.router")
api.add_router("/licenses/", "yiwang.licenses.api.router")
api.add_router("/messages/", "yiwang.messaging.api.router")
api.add_router("/health", "yiwang.core.api.router")
api.add_router("/registries/", "yiwang.registries.api.router")
api.add_router("/exchange/", "yiwang.exchange.api.router")
api.add_router("/evaluation/", "yiwang.evaluation.api.router")
api.add_router("/hotline/", "yiwang.hotline.api.router")
api.add_router("/supervision/", "yiwang.supervision.api.router")
api.add_router("/documents/", "yiwang.documents.api.router")
api.add_router("/channels/", "yiwang.channels.api.router")
api.add_router("/oversight/", "yiwang.oversight.api.router")
api.add_router("/payments/", "yiwang.payments.api.router")
api.add_router("/appointments/", "yiwang.appointments.api.router")
api.add_router("/analytics/", "yiwang.analytics.api.router")
api.add_router("/policies/", "yiwang.policies.api.router")
api.add_router("/publicity/", "yiwang.publicity.api.router")
