"""Workbench pages of the hotline, mounted at /workbench/hotline/."""

from django.urls import path

from yiwang.hotline import views

app_name = "hotline"
urlpatterns = [
    path("", views.home, name="home"),
    path("intake/", views.intake, name="intake"),
    path("grid/report/", views.grid_report, name="grid_report"),
    path("knowledge/search/", views.knowledge_search, name="knowledge_search"),
    path("knowledge/", views.knowledge, name="knowledge"),
    path("rules/", views.rules, name="rules"),
    path("hotspots/", views.hotspots, name="hotspots"),
    path("ranking/", views.ranking, name="ranking"),
    path("ranking.xlsx", views.ranking_xlsx, name="ranking_xlsx"),
    path("map/", views.city_map, name="map"),
    path("queue/<str:which>/", views.queue, name="queue"),
    path("tickets/<int:ticket_id>/", views.detail, name="detail"),
    path("tickets/<int:ticket_id>/<str:name>/", views.action, name="action"),
]
