"""Public catalog pages, mounted at /services/: browse, search, the guide (办事指南), bundles."""

from django.urls import path

from yiwang.catalog import portal_views

app_name = "services"
urlpatterns = [
    path("", portal_views.index, name="index"),
    path("suggest/", portal_views.suggest, name="suggest"),
    path("items/<str:code>/", portal_views.item_guide, name="item"),
    path("life-events/<str:code>/", portal_views.life_event_guide, name="life_event"),
]
