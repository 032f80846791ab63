"""The demo catalog of 示范市: valid import files, the content the issue asks for, and a load
that publishes everything, indexes it for search and changes nothing when repeated."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from yiwang.catalog import demo_data
from yiwang.catalog.models import LifeEvent, SearchEntry, SearchSynonym, ServiceItem, Status
from yiwang.catalog.tests.demo_catalog import demo_catalog  # noqa: F401  (fixture)
from yiwang.demo.city import generate_city

SCHEMA_PATH = Path(__file__).resolve().parents[4] / "docs" / "catalog-import.schema.json"

REQUIRED_ITEMS = (
    "个体工商户设立登记",
    "企业设立登记",
    "食品经营许可",
    "居民身份证换领",
    "户口迁移",
    "出生医学证明",
    "结婚登记",
    "社会保障卡申领",
    "失业保险金申领",
    "最低生活保障申请",
    "建设工程规划许可证核发",
    "不动产转移登记",
    "道路运输经营许可",
    "医师执业注册",
    "公共场所卫生许可",
    "残疾人证办理",
    "高龄津贴申领",
)

BUNDLES = {
    "出生一件事": ["出生医学证明", "出生户口登记", "城乡居民基本医疗保险参保登记", "社会保障卡申领"],
    "开办企业一件事": ["企业设立登记", "公章刻制备案", "发票申领", "单位社会保险参保登记", "住房公积金单位缴存登记"],
    "二手房转移登记一件事": ["不动产转移登记", "存量房交易税费申报缴纳", "水电气联动过户"],
}


@pytest.fixture(scope="module")
def document():
    return demo_data.document()


def _by_name(document):
    return {item["name"]: item for item in document["items"]}


def test_every_file_is_a_valid_import_file():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for path in demo_data.files():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        errors = [f"{path.name}: {list(e.absolute_path)} {e.message}" for e in validator.iter_errors(data)]
        assert errors == []


def test_the_catalog_has_the_items_departments_and_bundles_the_issue_asks_for(document):
    items = _by_name(document)
    assert len(items) == len(document["items"]) >= 120, "item names must be unique"
    assert len({i["department"] for i in document["items"]}) >= 20
    assert [n for n in REQUIRED_ITEMS if n not in items] == []
    code_to_name = {i["implementation_code"]: i["name"] for i in document["items"]}
    bundles = {e["name"]: [code_to_name[c] for c in e["items"]] for e in document["life_events"]}
    assert bundles == BUNDLES


def test_departments_are_those_of_the_demo_city(document):
    city_codes = {d.code for d in generate_city().departments}
    used = {i["department"] for i in document["items"]} | {e["department"] for e in document["life_events"]}
    assert used - city_codes == set()


def test_guides_are_complete_and_consistent(document):
    """Every item reads like a real guide: basis, conditions, limits, materials, form, process."""
    for item in document["items"]:
        name = item["name"]
        assert "《" in item["legal_basis"], name
        assert item["acceptance_conditions"], name
        assert 0 <= item["promised_time_limit"] <= item["statutory_time_limit"], name
        assert item["materials"] and item["process"] and item["aliases"] and item["keywords"], name
        assert not item.get("onsite_visits") or item["onsite_visits_reason"], name
        jsonschema.Draft202012Validator.check_schema(item["form_schema"])
        form = item["form_schema"]
        assert form["type"] == "object" and set(form["required"]) <= set(form["properties"]), name
        for material in item["materials"]:
            if material.get("source") == "license":
                assert material["license_type_code"], (name, material["name"])
            if material.get("requirement") == "conditional":
                assert material["condition"], (name, material["name"])


def test_outputs_and_certificate_free_materials_name_license_types(document):
    items = _by_name(document)
    outputs = {n: (items[n].get("output") or {}).get("license_type_code") for n in items}
    assert outputs["个体工商户设立登记"] == "business_license_individual"
    assert outputs["企业设立登记"] == "business_license"
    assert outputs["食品经营许可"] == "food_business_license"
    assert outputs["出生医学证明"] == "birth_medical_certificate"
    assert outputs["残疾人证办理"] == "disability_certificate"
    assert outputs["社会保障卡申领"] == "social_security_card"
    assert outputs["结婚登记"] == "marriage_certificate"
    sources = {m["name"]: m for m in items["居民身份证换领"]["materials"]}
    assert sources["居民户口簿"]["source"] == "registry"
    id_card = next(m for m in items["个体工商户设立登记"]["materials"] if "身份证" in m["name"])
    assert (id_card["source"], id_card["license_type_code"]) == ("license", "resident_id_card")
    # A real fee where the law sets one; most items are free.
    assert any("20 元" in f["amount"] for f in items["居民身份证换领"]["fees"])
    free = sum(1 for i in document["items"] if not i["fees"])
    assert free >= len(document["items"]) * 3 // 4


@pytest.mark.django_db
def test_load_publishes_everything_and_indexes_it(demo_catalog):  # noqa: F811
    document = demo_data.document()
    assert demo_catalog.items["created"] == len(document["items"])
    assert ServiceItem.objects.filter(status=Status.PUBLISHED).count() == len(document["items"])
    assert LifeEvent.objects.filter(status=Status.PUBLISHED).count() == len(document["life_events"])
    assert SearchEntry.objects.count() == len(document["items"]) + len(document["life_events"])
    assert SearchSynonym.objects.filter(term="开饭店").exists()


@pytest.mark.django_db
def test_a_second_load_changes_nothing(demo_catalog):  # noqa: F811
    before = SearchEntry.objects.count()
    report = demo_data.load(None)
    assert report.items["created"] == report.items["updated"] == 0
    assert report.items["unchanged"] == len(demo_data.document()["items"])
    assert report.published_items == report.published_life_events == 0
    assert SearchEntry.objects.count() == before


def test_guides_promise_only_what_the_platform_does(document):
    """Issue #14: a required field whose help said it may be left out; 申请书 described as filled in
    online and e-signed, yet uploaded; 网上申请自动受理 while a clerk accepts."""
    import re

    for item in document["items"]:
        form = item["form_schema"]
        for key in form.get("required", []):
            help_text = str(form["properties"][key].get("description", ""))
            assert not re.search(r"可以?不(填|使用)|留空|选填", help_text) or "填写" in help_text, (item["name"], key)
        for material in item["materials"]:
            assert "电子签名" not in str(material.get("description", "")), (item["name"], material["name"])
            assert "在线填写" not in str(material.get("description", "")), (item["name"], material["name"])
        for step in item["process"]:
            assert "自动受理" not in str(step.get("description", "")), (item["name"], step["name"])


def test_every_item_and_bundle_has_english_content(document):
    """Issue #14: catalog content shows in English where the catalog has a translation; every demo
    item has one (name and summary), in ASCII-only English."""
    for entry in [*document["items"], *document["life_events"]]:
        assert entry.get("name_en") and entry.get("description_en"), entry["name"]
        assert entry["name_en"].isascii() and entry["description_en"].isascii(), entry["name"]
    codes = [i["implementation_code"] for i in document["items"]]
    assert len(set(codes)) == len(codes)


def test_the_everyday_needs_people_search_for_are_in_the_catalog(document):
    """Issue #14: 补领 of a lost ID card, a driving licence renewal… the high-frequency items of a county."""
    names = set(_by_name(document))
    for name in (
        "居民身份证补领",
        "机动车驾驶证有效期满换证",
        "普通护照签发",
        "往来港澳通行证及签注签发",
        "补领结婚证",
        "门诊慢特病待遇认定",
        "个体工商户注销登记",
        "不动产登记资料查询",
        "劳动人事争议仲裁申请",
        "退役军人优待证申领",
        "农村村民宅基地申请审批",
        "林木采伐许可证核发",
    ):
        assert name in names, name


def test_items_that_promise_automatic_acceptance_are_online_items(document):
    """自动受理 is promised only where the platform honours it: ``auto_accept`` on an item that can
    be applied for online (the cases app accepts such applications at once)."""
    auto = [i for i in document["items"] if i.get("auto_accept")]
    assert len(auto) >= 5
    for item in auto:
        assert item["handling_form"] in ("online", "both"), item["name"]
