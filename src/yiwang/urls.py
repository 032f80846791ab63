from django.contrib import admin
from django.urls import include, path

from yiwang.api import api

urlpatterns = [
    # First: every API request is resolved without trying the pages' patterns before it.
    path("api/v1/", api.urls),
    # Second: the OpenID provider (/.well-known/openid-configuration, /oidc/…), whose userinfo and
    # token endpoints every relying party calls on each sign-in; its paths are literal and no
    # other pattern matches them (sso/tests/test_urls_first.py), so the order changes no answer.
    path("", include("yiwang.sso.urls")),
    path("", include("yiwang.portal.urls")),
    path("", include("yiwang.licenses.urls")),
    path("services/", include("yiwang.catalog.portal_urls")),
    path("workbench/catalog/", include("yiwang.catalog.urls")),
    path("workbench/licenses/", include("yiwang.licenses.workbench_urls")),
    path("workbench/cases/", include("yiwang.cases.workbench_urls")),
    path("workbench/registries/", include("yiwang.registries.urls")),
    path("cases/", include("yiwang.cases.urls")),
    path("messages/", include("yiwang.messaging.urls")),
    path("workbench/messages/", include("yiwang.messaging.workbench_urls")),
    path("", include("yiwang.exchange.urls")),
    path("workbench/exchange/", include("yiwang.exchange.workbench_urls")),
    path("evaluation/", include("yiwang.evaluation.urls")),
    path("workbench/evaluation/", include("yiwang.evaluation.workbench_urls")),
    path("workbench/sso/", include("yiwang.sso.workbench_urls")),
    path("", include("yiwang.opendata.urls")),
    path("", include("yiwang.policies.urls")),
    path("open311/v2/", include("yiwang.hotline.open311_urls")),
    path("workbench/hotline/", include("yiwang.hotline.urls")),
    path("hotline/", include("yiwang.hotline.portal_urls")),
    path("supervision/", include("yiwang.supervision.urls")),
    path("workbench/supervision/", include("yiwang.supervision.workbench_urls")),
    path("workbench/documents/", include("yiwang.documents.urls")),
    path("channels/", include("yiwang.channels.urls")),
    path("workbench/channels/", include("yiwang.channels.workbench_urls")),
    path("workbench/oversight/", include("yiwang.oversight.urls")),
    path("appointments/", include("yiwang.appointments.urls")),
    path("workbench/appointments/", include("yiwang.appointments.workbench_urls")),
    path("kiosk/", include("yiwang.appointments.kiosk_urls")),
    path("workbench/dashboards/", include("yiwang.analytics.urls")),
    path("workbench/", include("yiwang.workbench.urls")),
    path("accounts/", include("yiwang.identity.urls", namespace="identity")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("payments/", include("yiwang.payments.urls")),
    path("workbench/payments/", include("yiwang.payments.workbench_urls")),
    path("", include("yiwang.publicity.urls")),  # 政务公开, 意见征集: /publicity/, /workbench/publicity/
    path("admin/", admin.site.urls),
    # --- branch identity: the window clerk's 帮办 (授权代办 pages are under accounts/) ---
    path("workbench/identity/", include("yiwang.identity.workbench_urls")),
]
