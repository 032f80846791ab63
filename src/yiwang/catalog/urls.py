"""Workbench pages of the catalog, mounted at /workbench/catalog/ (department admins)."""

from django.urls import path

from yiwang.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.item_list, name="items"),
    path("import/", views.import_file, name="import"),
    path("template.xlsx", views.template, name="template"),
    path("export.<str:fmt>", views.export, name="export"),
    path("new/", views.item_edit, name="item_new"),
    path("items/<str:code>/", views.item_detail, name="item"),
    path("items/<str:code>/edit/", views.item_edit, name="item_edit"),
    path("items/<str:code>/publish/", views.item_publish, name="item_publish"),
    path("items/<str:code>/decision-table/", views.decision_table, name="decision_table"),
    path("items/<str:code>/retire/", views.item_retire, name="item_retire"),
    path("life-events/new/", views.life_event_edit, name="life_event_new"),
    path("life-events/<str:code>/edit/", views.life_event_edit, name="life_event_edit"),
    path("life-events/<str:code>/publish/", views.life_event_publish, name="life_event_publish"),
    path("life-events/<str:code>/retire/", views.life_event_retire, name="life_event_retire"),
]
