"""Workbench pages of key-task oversight, mounted at /workbench/oversight/."""

from django.urls import path

from yiwang.oversight import views

app_name = "oversight"
urlpatterns = [
    path("", views.task_list, name="list"),
    path("new/", views.task_new, name="new"),
    path("ranking/", views.ranking, name="ranking"),
    path("ranking.xlsx", views.ranking_xlsx, name="ranking_xlsx"),
    path("tasks/<int:task_id>/", views.task_detail, name="detail"),
    path("tasks/<int:task_id>/report/", views.report, name="report"),
    path("tasks/<int:task_id>/milestones/", views.milestone_add, name="milestone_add"),
    path("tasks/<int:task_id>/urge/", views.urge, name="urge"),
    path("tasks/<int:task_id>/rate/", views.rate, name="rate"),
    path("reports/<int:report_id>/review/", views.review, name="review"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
]
