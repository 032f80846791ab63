"""The inspectors' workbench (phone-friendly), mounted at /workbench/supervision/."""

from django.urls import path

from yiwang.supervision import views

app_name = "supervision_workbench"
urlpatterns = [
    path("", views.tasks, name="tasks"),
    path("inspections/<int:inspection_id>/", views.task, name="task"),
    path("inspectors/", views.inspectors, name="inspectors"),
    path(
        "inspectors/<str:certificate_number>/qualifications/new/",
        views.qualification_new,
        name="qualification_new",
    ),
    path("qualifications/<int:qualification_id>/", views.qualification_edit, name="qualification_edit"),
    path("qualifications/<int:qualification_id>/end/", views.qualification_end, name="qualification_end"),
]
