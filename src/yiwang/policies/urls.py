from django.urls import path

from yiwang.policies import views

app_name = "policies"
urlpatterns = [
    path("policies/", views.library_page, name="library"),
    path("workbench/policies/", views.workbench_page, name="workbench"),
    path("workbench/policies/awards/<int:id>/review/", views.award_review, name="award_review"),
    path("workbench/policies/benefits/<int:id>/confirm/", views.benefit_confirm, name="benefit_confirm"),
    path("workbench/policies/batches/<int:id>/file/", views.batch_file, name="batch_file"),
    path("workbench/policies/batches/<int:id>/import/", views.batch_import, name="batch_import"),
]
