"""Case pages of the workbench, mounted at /workbench/cases/ (window clerks and back office)."""

from django.urls import path

from yiwang.cases import bundle_views, views

app_name = "cases_workbench"
urlpatterns = [
    path("", views.workbench_index, name="index"),
    path("window/", views.window, name="window"),
    path("window/register/", views.window_register, name="window_register"),
    path("window/activation/", views.window_activation, name="window_activation"),
    path("window/real-name/", views.window_real_name, name="window_real_name"),
    path("window/apply/<str:code>/", views.window_apply, name="window_apply"),
    path("window/hall/", views.window_hall, name="window_hall"),
    path("window/bundles/apply/<str:code>/", bundle_views.window_bundle_apply, name="window_bundle_apply"),
    path("window/bundles/<int:bundle_id>/", bundle_views.window_bundle_detail, name="window_bundle_detail"),
    path("<int:case_id>/", views.workbench_detail, name="detail"),
    path("<int:case_id>/<str:action>/", views.workbench_action, name="action"),
]
