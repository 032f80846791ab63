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
    path("workbench/policies/benefits/<int:id>/rules/", views.benefit_rules, name="benefit_rules"),
    path("workbench/policies/<int:id>/publish/", views.policy_publish, name="policy_publish"),
    path("workbench/policies/objections/<int:id>/answer/", views.objection_answer, name="objection_answer"),
    path("policies/benefits/<int:id>/apply/", views.benefit_apply, name="benefit_apply"),
    path("policies/benefits/<int:id>/objection/", views.objection_raise, name="objection_raise"),
]
