"""Open data: the CKAN Action API (both prefixes CKAN serves), the DCAT catalogue, portal and workbench pages."""

from django.urls import path

from yiwang.opendata import views

app_name = "opendata"
urlpatterns = [
    path("api/3/action/<str:name>", views.ckan_action, name="ckan_action3"),
    path("api/action/<str:name>", views.ckan_action, name="ckan_action"),
    path("opendata/catalog.<str:kind>", views.catalogue, name="catalogue"),
    path("opendata/", views.search_page, name="search"),
    path("opendata/datasets/<slug:name>/", views.dataset_page, name="dataset"),
    path("opendata/datasets/<slug:name>/apply/", views.apply, name="apply"),
    path("opendata/datasets/<slug:name>/comment/", views.comment, name="comment"),
    path("opendata/resources/<uuid:id>/download/", views.download, name="download"),
    path("opendata/my/", views.my_page, name="my"),
    path("workbench/opendata/", views.workbench_page, name="workbench"),
    path("workbench/opendata/applications/<int:id>/decide/", views.application_decide, name="application_decide"),
    path("workbench/opendata/comments/<int:id>/moderate/", views.comment_moderate, name="comment_moderate"),
]
