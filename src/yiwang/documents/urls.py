"""Workbench pages of the documents app, mounted at /workbench/documents/."""

from django.urls import path

from yiwang.documents import views

app_name = "documents"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("types/", views.types, name="types"),
    path("types/edit/", views.type_edit, name="type_edit"),
    path("<int:document_id>/", views.detail, name="detail"),
    path("<int:document_id>/pdf/", views.pdf, name="pdf"),
    path("<int:document_id>/<str:action>/", views.action, name="action"),
    path("duty/", views.duty, name="duty"),
    path("duty/shifts/", views.shift_new, name="shift_new"),
    path("duty/shifts/<int:shift_id>/swap/", views.swap, name="swap"),
    path("duty/swaps/<int:swap_id>/", views.swap_decide, name="swap_decide"),
]
