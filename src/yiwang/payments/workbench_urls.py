"""Payments pages of the workbench, mounted at /workbench/payments/ (case staff; finance: city admins, auditors)."""

from django.urls import path

from yiwang.payments import views

app_name = "payments_workbench"
urlpatterns = [
    path("", views.workbench_list, name="list"),
    path("cases/<int:case_id>/raise", views.workbench_raise, name="raise"),
    path("<int:bill_id>/", views.workbench_detail, name="detail"),
    path("<int:bill_id>/cancel", views.workbench_cancel, name="cancel"),
    path("<int:bill_id>/payments/<int:payment_id>/refund", views.workbench_refund, name="refund"),
    path("<int:bill_id>/counter", views.workbench_counter, name="counter"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("reconciliation/<int:report_id>/", views.reconciliation_detail, name="reconciliation_detail"),
]
