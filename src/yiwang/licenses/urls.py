from django.urls import path

from yiwang.licenses import views

app_name = "licenses"
urlpatterns = [
    path("verify/", views.verify_form, name="verify_form"),
    path("verify/present/<str:code>", views.present, name="present"),
    path("verify/<str:identifier>", views.verify, name="verify"),
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/<int:license_id>/", views.wallet_license, name="wallet_license"),
    path("wallet/<int:license_id>/pdf", views.wallet_pdf, name="wallet_pdf"),
    path("wallet/<int:license_id>/present", views.wallet_present, name="wallet_present"),
    path("wallet/presentations/<int:presentation_id>/", views.presentation, name="presentation"),
    path("wallet/presentations/<int:presentation_id>/revoke", views.presentation_revoke, name="presentation_revoke"),
]
