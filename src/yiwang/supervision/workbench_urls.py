"""The inspectors' workbench (phone-friendly), mounted at /workbench/supervision/."""

from django.urls import path

from yiwang.supervision import views

app_name = "supervision_workbench"
urlpatterns = [
    path("", views.tasks, name="tasks"),
    path("inspections/<int:inspection_id>/", views.task, name="task"),
]
