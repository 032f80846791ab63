"""Public pages of supervision (一公开), mounted at /supervision/."""

from django.urls import path

from yiwang.supervision import views

app_name = "supervision"
urlpatterns = [
    path("", views.index, name="index"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<str:code>/", views.plan_detail, name="plan"),
    path("plans/<str:code>/draw/", views.plan_draw, name="plan_draw"),
    path("plans/<str:code>/plan.json", views.plan_file, {"which": "plan"}, name="plan_file"),
    path("plans/<str:code>/result.json", views.plan_file, {"which": "result"}, name="result_file"),
    path("verify/", views.verify, name="verify"),
    path("results/", views.results, name="results"),
    path("credit-rule/", views.rule, name="rule"),
    path("grades/<str:uscc>/", views.grade, name="grade"),
    path("grades/<str:uscc>/repair/", views.repair_apply, name="repair_apply"),
    path("mu/<int:year>/", views.mu_list, name="mu"),
    path("mu/<int:year>.xlsx", views.mu_xlsx, name="mu_xlsx"),
]
