"""Open311 GeoReport v2, mounted at /open311/v2/."""

from django.urls import path

from yiwang.hotline import open311

app_name = "open311"
urlpatterns = [
    path("discovery.json", open311.discovery, name="discovery"),
    path("services.<str:fmt>", open311.services_list, name="services"),
    path("services/<str:code>.<str:fmt>", open311.service_definition, name="service"),
    path("requests.<str:fmt>", open311.requests_view, name="requests"),
    path("requests/<str:request_id>.<str:fmt>", open311.request_detail, name="request"),
]
