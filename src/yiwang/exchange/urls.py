"""Portal pages of the exchange: the public resource catalog and 数据使用记录."""

from django.urls import path

from yiwang.exchange import views

app_name = "exchange_portal"
urlpatterns = [
    path("exchange/catalog/", views.catalog_page, name="catalog"),
    path("my/data-usage/", views.usage_page, name="usage"),
]
