"""The CKAN Action API, driven by the real CKAN client library (``ckanapi.RemoteCKAN``) against
the live test server, under both prefixes CKAN serves; plus the envelope and statuses seen raw."""

import json

import ckanapi
import pytest

from yiwang.opendata import services
from yiwang.opendata.models import Dataset
from yiwang.opendata.tests.conftest import build_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live(live_server):
    world = build_world()
    # A few more open datasets so that paging, sorting and facets mean something.
    for n in (1, 3):
        services.dataset_publish_upload(
            actor=world.publisher if n == 1 else world.root,
            publisher=world.bigdata if n == 1 else world.city,
            metadata={
                "name": f"bus-lines-{n}",
                "title": f"公交线路 {n}",
                "theme": "transport",
                "keywords": ["公交", f"线路{n}"],
                "frequency": "monthly",
            },
            open_type="open",
            files=[("lines.csv", "CSV", ("线路,站点数\n" + "".join(f"{n}-{i},{i}\n" for i in range(30))).encode())],
        )
    return world, live_server.url


def remote(url: str, *, prefix: str = "api/action/", apikey: str | None = None) -> ckanapi.RemoteCKAN:
    client = ckanapi.RemoteCKAN(url, apikey=apikey, user_agent="yiwang-tests")
    client.base_url = prefix
    return client


@pytest.mark.parametrize("prefix", ["api/action/", "api/3/action/"])
def test_ckanapi_lists_searches_and_shows_the_demo_datasets(live, prefix):
    _world, url = live
    ckan = remote(url, prefix=prefix)
    names = ckan.action.package_list()
    assert names == sorted(names) and {"enterprises-by-district", "population-by-region"} <= set(names)
    assert "bus-lines-1" in names and len(names) == 4
    found = ckan.action.package_search(q="企业")
    assert [p["name"] for p in found["results"]] == ["enterprises-by-district"]
    package = ckan.action.package_show(id="enterprises-by-district")
    assert package["organization"]["name"] == "od-sjj" and package["license_id"] == "cc-by-4.0"
    assert {t["name"] for t in package["tags"]} == {"企业", "统计"}
    assert package["resources"][0]["format"] == "CSV" and package["resources"][0]["datastore_active"] is True
    assert ckan.action.package_show(id=package["id"])["name"] == package["name"]
    resource = ckan.action.resource_show(id=package["resources"][0]["id"])
    assert resource["package_id"] == package["id"]
    assert ckan.action.status_show()["ckan_version"].startswith("2.")


def test_package_search_pages_sorts_filters_and_facets(live):
    _world, url = live
    ckan = remote(url)
    first = ckan.action.package_search(rows=2, start=0, sort="name asc")
    second = ckan.action.package_search(rows=2, start=2, sort="name asc")
    assert first["count"] == 4
    names = [p["name"] for p in first["results"] + second["results"]]
    assert names == sorted(names) and len(set(names)) == 4
    assert [p["name"] for p in ckan.action.package_search(sort="name desc", rows=1)["results"]] == [max(names)]
    transport = ckan.action.package_search(fq="groups:transport")
    assert transport["count"] == 2
    both = ckan.action.package_search(fq='+organization:od-sjj +tags:"公交"')
    assert both["count"] == 1 and both["results"][0]["name"] == "bus-lines-1"
    faceted = ckan.action.package_search(**{"facet.field": ["organization", "groups", "res_format"], "rows": 0})
    assert faceted["results"] == []
    assert faceted["facets"]["groups"] == {"transport": 2, "economy": 1, "society": 1}
    items = {i["name"]: i["count"] for i in faceted["search_facets"]["organization"]["items"]}
    assert items == {"od-sjj": 3, "od": 1}
    assert faceted["facets"]["res_format"]["CSV"] == 4


def test_organizations_groups_and_tags(live):
    _world, url = live
    ckan = remote(url)
    assert ckan.action.organization_list() == ["od", "od-sjj"]
    full = ckan.action.organization_list(all_fields=True)
    assert {o["name"]: o["package_count"] for o in full} == {"od": 1, "od-sjj": 3}
    org = ckan.action.organization_show(id="od-sjj", include_datasets=True)
    assert org["title"] == "示范市政务服务和大数据管理局" and len(org["packages"]) == 3
    assert ckan.action.group_list() == ["economy", "society", "transport"]
    assert "公交" in ckan.action.tag_list() and ckan.action.tag_list(query="线路") == ["线路1", "线路3"]


def test_datastore_search_pages_filters_and_sorts_through_a_resource(live):
    _world, url = live
    ckan = remote(url)
    resource_id = ckan.action.package_show(id="bus-lines-1")["resources"][0]["id"]
    page = ckan.action.datastore_search(resource_id=resource_id, limit=10, offset=0)
    assert page["total"] == 30 and len(page["records"]) == 10 and page["records"][0]["_id"] == 1
    seen = []
    offset = 0
    while True:
        chunk = ckan.action.datastore_search(resource_id=resource_id, limit=7, offset=offset)["records"]
        if not chunk:
            break
        seen += [r["线路"] for r in chunk]
        offset += 7
    assert len(seen) == 30 and len(set(seen)) == 30
    filtered = ckan.action.datastore_search(resource_id=resource_id, filters={"站点数": "5"})
    assert filtered["total"] == 1 and filtered["records"][0]["线路"] == "1-5"
    fields = ckan.action.datastore_search(resource_id=resource_id, fields=["线路"], limit=1, sort="_id desc")
    assert fields["records"] == [{"线路": "1-29"}]
    assert ckan.action.datastore_search(resource_id=resource_id, q="1-2", limit=100)["total"] == 11
    assert Dataset.objects.get(name="bus-lines-1").api_call_count >= 8


def test_errors_come_back_as_ckan_errors(live):
    world, url = live
    ckan = remote(url)
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="no-such-dataset")
    services.dataset_withdraw(actor=world.publisher, dataset=world.open_dataset, reason="暂停开放核查")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="enterprises-by-district")
    assert "enterprises-by-district" not in ckan.action.package_list()
    with pytest.raises(ckanapi.SearchError):
        ckan.action.package_search(fq="organization:od OR (groups:transport)")
    with pytest.raises(ckanapi.SearchError):
        ckan.action.package_search(fq="maintainer_phone:123")
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(sort="popularity desc")
    with pytest.raises(ckanapi.ValidationError) as caught:
        ckan.action.package_search(rows="many")
    assert "rows" in caught.value.error_dict
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(
            resource_id=ckan.action.package_show(id="bus-lines-1")["resources"][0]["id"], filters={"nope": 1}
        )


def test_conditional_rows_need_an_approved_application_and_the_personal_key(live):
    world, url = live
    resource_id = remote(url).action.package_show(id="population-by-region")["resources"][0]["id"]
    with pytest.raises(ckanapi.NotAuthorized):
        remote(url).action.datastore_search(resource_id=resource_id)
    _key, secret = services.api_key_issue(actor=world.citizen)
    with pytest.raises(ckanapi.NotAuthorized):
        remote(url, apikey=secret).action.datastore_search(resource_id=resource_id)
    application = services.application_submit(
        actor=world.citizen, dataset=world.conditional_dataset, purpose="人口结构研究"
    )
    services.application_decide(actor=world.publisher, application=application, approve=True)
    rows = remote(url, apikey=secret).action.datastore_search(resource_id=resource_id)
    assert rows["total"] == 3 and {r["count"] for r in rows["records"]} == {6, 2}
    with pytest.raises(ckanapi.NotAuthorized):
        remote(url, apikey="ywod_not-a-real-key").action.package_list()


def test_the_raw_envelope_and_statuses_are_ckans(world, client):
    ok = client.get("/api/3/action/package_show", {"id": "enterprises-by-district"})
    body = ok.json()
    assert ok.status_code == 200 and body["success"] is True and set(body) == {"help", "success", "result"}
    assert body["help"].endswith("/api/3/action/help_show?name=package_show")
    missing = client.get("/api/3/action/package_show", {"id": "nope"})
    assert missing.status_code == 404
    assert missing.json()["error"] == {"__type": "Not Found Error", "message": "Not found"}
    assert missing.json()["success"] is False
    bad_fq = client.get("/api/action/package_search", {"fq": "title:[a TO z]"})
    assert bad_fq.status_code == 409 and bad_fq.json()["error"]["__type"] == "Search Error"
    unbalanced = client.get("/api/action/package_search", {"fq": 'tags:"unclosed'})
    assert unbalanced.status_code == 409
    no_id = client.post("/api/action/package_show", data=json.dumps({}), content_type="application/json")
    assert no_id.status_code == 409 and no_id.json()["error"] == {"__type": "Validation Error", "id": ["Missing value"]}
    resource_id = world.conditional_dataset.distributions.first().pk
    denied = client.get("/api/3/action/datastore_search", {"resource_id": str(resource_id)})
    assert denied.status_code == 403 and denied.json()["error"]["__type"] == "Authorization Error"
    unknown = client.get("/api/3/action/package_create")
    assert unknown.status_code == 400 and unknown.json()["success"] is False
    not_json = client.post("/api/3/action/package_search", data=b"{broken", content_type="application/json")
    assert not_json.status_code == 409
    facets = client.get("/api/3/action/package_search", {"facet.field": '["organization"', "rows": 0})
    assert facets.status_code == 409
