"""The demo city's open data: ckanapi-style calls list, search and show the demo datasets and page
through a datastore; a rerun adds nothing."""

import pytest
from django.test import Client

from yiwang.demo.services import demo_load
from yiwang.exchange import demo_data as exchange_demo
from yiwang.opendata import demo_data
from yiwang.opendata.models import AccessApplication, Comment, Dataset
from yiwang.registries import demo_data as registries_demo


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_datasets_are_served_through_the_ckan_api():
    demo_load()
    registries_demo.load(None)
    exchange_demo.load(None)
    demo_data.load(None)
    counts = (Dataset.objects.count(), AccessApplication.objects.count(), Comment.objects.count())
    assert counts == (5, 1, 1)
    demo_data.load(None)
    assert (Dataset.objects.count(), AccessApplication.objects.count(), Comment.objects.count()) == counts

    client = Client()
    names = client.get("/api/3/action/package_list").json()["result"]
    assert set(names) == {
        "population-by-region-sex",
        "market-entities-by-kind",
        "bus-lines",
        "service-halls",
        "air-quality-monthly",
    }
    market = client.get("/api/3/action/package_show", {"id": "market-entities-by-kind"}).json()["result"]
    assert market["isopen"] is True
    rows = client.get(
        "/api/3/action/datastore_search", {"resource_id": market["resources"][0]["id"], "limit": 2}
    ).json()["result"]
    assert rows["total"] >= 1 and set(rows["records"][0]) == {"_id", "kind", "status", "count"}
    population = client.get("/api/3/action/package_show", {"id": "population-by-region-sex"}).json()["result"]
    assert population["isopen"] is False
    bus = client.get("/api/3/action/package_search", {"q": "公交"}).json()["result"]
    assert bus["count"] == 1 and bus["results"][0]["organization"]["name"] == "sfs-jtj"
