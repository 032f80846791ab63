"""Payments pages of the portal, mounted at /payments/ (the payer, the channel's callback, the receipt check)."""

from django.urls import path

from yiwang.payments import views

app_name = "payments"
urlpatterns = [
    path("bills/<int:bill_id>/", views.bill, name="bill"),
    path("bills/<int:bill_id>/pay", views.bill_pay, name="bill_pay"),
    path("bills/<int:bill_id>/return", views.bill_return, name="bill_return"),
    path("bills/<int:bill_id>/receipt.pdf", views.receipt_pdf, name="receipt_pdf"),
    path("bills/<int:bill_id>/receipt/print/", views.receipt_print, name="receipt_print"),
    path("receipts/mine/", views.receipts_mine, name="receipts_mine"),
    path("callback/<str:channel>", views.callback, name="callback"),
    path("receipts/verify/<str:number>", views.receipt_verify, name="receipt_verify"),
]
