"""Case pages of the portal, mounted at /cases/ (the applicant; downloads for anyone who may see the case)."""

from django.urls import path

from yiwang.cases import bundle_views, views

app_name = "cases"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("progress/", views.progress, name="progress"),
    path("apply/<str:code>/", views.apply, name="apply"),
    path("drafts/<int:draft_id>/", views.draft, name="draft"),
    path("drafts/<int:draft_id>/delete/", views.draft_delete, name="draft_delete"),
    path("<int:case_id>/", views.detail, name="detail"),
    path("<int:case_id>/materials/", views.upload, name="upload"),
    path("<int:case_id>/materials/<int:material_id>/", views.material, name="material"),
    path("<int:case_id>/supplement/", views.supplement_answer, name="supplement_answer"),
    path("<int:case_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:case_id>/human-review/", views.human_review, name="human_review"),
    path("<int:case_id>/notices/<str:kind>.pdf", views.notice, name="notice"),
    path("bundles/apply/<str:code>/", bundle_views.bundle_apply, name="bundle_apply"),
    path("bundles/<int:bundle_id>/", bundle_views.bundle_detail, name="bundle_detail"),
]
