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
    path("rules/new/", views.rule_edit, name="rule_new"),
    path("rules/<int:rule_id>/edit/", views.rule_edit, name="rule_edit"),
    path("knowledge/new/", views.knowledge_edit, name="knowledge_new"),
    path("knowledge/<int:entry_id>/edit/", views.knowledge_edit, name="knowledge_edit"),
    path("grid/map/", views.grid_map, name="grid_map"),
    path("grid/import/", views.grid_import, name="grid_import"),
    path("grid/patrols/", views.patrols, name="patrols"),
    path("grid/patrols/<int:patrol_id>/", views.patrol, name="patrol"),
    path("grid/patrols/<int:patrol_id>/<str:name>/", views.patrol, name="patrol_action"),
]
