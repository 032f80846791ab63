"""The DCAT catalogue as a harvester reads it (rdflib, each serialization), and the portal pages."""

import pytest
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS, RDF

from yiwang.opendata import services
from yiwang.opendata.models import AccessApplication, Dataset

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("url", "fmt"), [("jsonld", "json-ld"), ("rdf", "xml"), ("ttl", "turtle")])
def test_a_harvester_finds_every_listed_dataset_with_its_metadata(world, client, url, fmt):
    services.dataset_withdraw(actor=world.publisher, dataset=world.open_dataset, reason="核查中,暂停开放")
    response = client.get(f"/opendata/catalog.{url}")
    assert response.status_code == 200
    graph = Graph().parse(data=response.content, format=fmt)
    catalogs = list(graph.subjects(RDF.type, DCAT.Catalog))
    assert len(catalogs) == 1
    datasets = set(graph.objects(catalogs[0], DCAT.dataset))
    titles = {str(graph.value(d, DCTERMS.title)) for d in datasets}
    assert titles == {"户籍人口按区县和性别统计"}  # the withdrawn one is gone
    dataset = datasets.pop()
    publisher = graph.value(dataset, DCTERMS.publisher)
    assert "大数据" in str(graph.value(publisher, __import__("rdflib").namespace.FOAF.name))
    assert str(graph.value(dataset, DCTERMS.accrualPeriodicity)) == "http://purl.org/cld/freq/annual"
    assert {str(k) for k in graph.objects(dataset, DCAT.keyword)} == {"人口"}
    assert graph.value(dataset, DCAT.theme) is not None and graph.value(dataset, DCTERMS.license) is not None
    period = graph.value(dataset, DCTERMS.temporal)
    assert str(graph.value(period, DCAT.startDate)) == "2025-01-01"
    assert graph.value(dataset, DCAT.contactPoint) is not None
    formats = {str(graph.value(d, DCTERMS.format)) for d in graph.objects(dataset, DCAT.distribution)}
    assert formats == {"CSV", "API"}


def test_search_page_facets_and_the_dataset_page_with_preview(world, client):
    page = client.get("/opendata/", {"q": "企业"})
    text = page.content.decode()
    assert page.status_code == 200 and "示范市各区企业数量" in text and "户籍人口" not in text
    faceted = client.get("/opendata/", {"groups": "society"}).content.decode()
    assert "户籍人口按区县和性别统计" in faceted and "示范市各区企业数量" not in faceted
    assert client.get("/opendata/", {"tags": 'x" OR'}).status_code == 200
    detail = client.get("/opendata/datasets/enterprises-by-district/").content.decode()
    assert "姑苏区" in detail and "cc-by-4.0" in detail  # preview rows and metadata
    conditional = client.get("/opendata/datasets/population-by-region/").content.decode()
    assert "320505" not in conditional and "登录后申请" in conditional
    assert client.get("/opendata/datasets/no-such/").status_code == 404


def test_download_is_counted_and_conditional_files_need_approval(world, client):
    dist = world.open_dataset.distributions.get()
    response = client.get(f"/opendata/resources/{dist.pk}/download/")
    assert response.status_code == 200 and "姑苏区" in response.content.decode("utf-8")
    assert Dataset.objects.get(pk=world.open_dataset.pk).download_count == 1
    conditional = world.conditional_dataset.distributions.get(format="CSV")
    assert client.get(f"/opendata/resources/{conditional.pk}/download/").status_code == 403


def test_the_application_form_reaches_the_publishers_workbench(world, client):
    client.force_login(world.citizen)
    response = client.post("/opendata/datasets/population-by-region/apply/", {"purpose": "人口结构研究,用于规划"})
    assert response.status_code == 302
    application = AccessApplication.objects.get(applicant=world.citizen)
    client.force_login(world.outsider)
    assert "人口结构研究" not in client.get("/workbench/opendata/").content.decode()
    refused = client.post(f"/workbench/opendata/applications/{application.pk}/decide/", {"decision": "approve"})
    assert refused.status_code == 404
    assert AccessApplication.objects.get(pk=application.pk).status == "pending"
    client.force_login(world.publisher)
    assert "人口结构研究" in client.get("/workbench/opendata/").content.decode()
    client.post(f"/workbench/opendata/applications/{application.pk}/decide/", {"decision": "approve"})
    assert AccessApplication.objects.get(pk=application.pk).status == "approved"
    client.force_login(world.citizen)
    assert "320505" in client.get("/opendata/datasets/population-by-region/").content.decode()
    key_page = client.post("/opendata/my/").content.decode()
    assert "ywod_" in key_page
