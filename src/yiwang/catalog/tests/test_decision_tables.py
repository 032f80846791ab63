"""Decision tables (秒批): the rule language, its checks, and publication only when the examples pass."""

import pytest

from yiwang.catalog import selectors, services
from yiwang.catalog.decision import check_table, evaluate
from yiwang.catalog.tests.factories import build_world, item_data
from yiwang.core.errors import ValidationFailed

FORM = {"type": "object", "properties": {"business_name": {"type": "string"}, "employees": {"type": "integer"}}}

TABLE = {
    "rules": [
        {
            "when": [{"fact": "registry.legal_entity.status", "op": "==", "value": "revoked"}],
            "outcome": "refuse",
            "reason": "主体已吊销",
        },
        {
            "when": [
                {"fact": "form.employees", "op": "<=", "value": 10},
                {"fact": "license.business_license.valid", "op": "==", "value": True},
            ],
            "outcome": "approve",
        },
    ],
    "default": {"outcome": "refer", "reason": "转人工"},
    "examples": [
        {"name": "小微", "facts": {"form.employees": 3, "license.business_license.valid": True}, "expect": "approve"},
        {"name": "吊销", "facts": {"registry.legal_entity.status": "revoked"}, "expect": "refuse"},
        {"name": "无执照", "facts": {"form.employees": 3}, "expect": "refer"},
    ],
}


def test_first_matching_row_wins_and_the_default_catches_the_rest():
    table, problems = check_table(TABLE, form_schema=FORM)
    assert problems == []
    assert evaluate(table, {"form.employees": 5, "license.business_license.valid": True}).outcome == "approve"
    refused = evaluate(table, {"registry.legal_entity.status": "revoked", "form.employees": 5})
    assert (refused.outcome, refused.reason, refused.row) == ("refuse", "主体已吊销", 1)
    other = evaluate(table, {"form.employees": 50, "license.business_license.valid": True})
    assert (other.outcome, other.row) == ("refer", 0)
    # What each tried condition found is kept for the reviewer.
    assert {"row": 2, "fact": "form.employees", "op": "<=", "value": 10, "actual": 50, "held": False} in [
        f.as_dict() for f in other.findings
    ]


@pytest.mark.parametrize(
    ("actual", "op", "value", "held"),
    [
        (85, ">=", 80, True),
        ("85", ">=", 80, False),  # a string is never compared with a number
        (True, "==", 1, False),  # nor a truth value with a number
        ("2020-01-02", "<", "2021-01-01", True),  # ISO dates compare as text
        ("A", "in", ["A", "B"], True),
        ("C", "not in", ["A", "B"], True),
        (None, "exists", True, False),
        ("x", "exists", False, False),
    ],
)
def test_operators_are_total_and_never_coerce(actual, op, value, held):
    table = {"rules": [{"when": [{"fact": "form.x", "op": op, "value": value}], "outcome": "approve"}]}
    assert (evaluate(table, {"form.x": actual}).outcome == "approve") is held


def test_a_missing_fact_makes_a_condition_false():
    table = {
        "rules": [{"when": [{"fact": "applicant.age", "op": "<", "value": 80}], "outcome": "refuse", "reason": "r"}]
    }
    assert evaluate(table, {}).outcome == "refer"


def test_bad_tables_get_clear_errors():
    bad = {
        "rules": [
            {"when": [{"fact": "form.nickname", "op": "==", "value": "x"}], "outcome": "approve"},
            {"when": [{"fact": "form.employees", "op": "<=", "value": 10}], "outcome": "approve"},
            {
                "when": [
                    {"fact": "form.employees", "op": "<=", "value": 10},
                    {"fact": "form.business_name", "op": "exists"},
                ],
                "outcome": "refuse",
                "reason": "x",
            },
            {
                "when": [
                    {"fact": "form.employees", "op": ">", "value": 10},
                    {"fact": "form.employees", "op": "<", "value": 5},
                ],
                "outcome": "approve",
            },
            {"when": [{"fact": "form.employees", "op": "~=", "value": 1}], "outcome": "approve"},
            {"when": [{"fact": "os.system", "op": "==", "value": 1}], "outcome": "refuse"},
        ],
        "examples": [],
    }
    _table, problems = check_table(bad, form_schema=FORM)
    text = [str(p) for p in problems]
    assert any("rules.1.when.1.fact" in t and "申请表中没有的字段「nickname」" in t for t in text)
    assert any("rules.3.when" in t and "与第 2 行矛盾" in t for t in text)
    assert any("rules.4.when" in t and "永远不会命中" in t for t in text)
    assert any("rules.5.when.1.op" in t for t in text)
    assert any("rules.6.when.1.fact" in t for t in text)
    assert any("rules.6.reason" in t and "理由" in t for t in text)
    assert any(t.startswith("examples") for t in text)


@pytest.fixture
def world(db):
    return build_world()


@pytest.mark.django_db
def test_table_is_versioned_with_the_item_and_published_only_when_its_examples_pass(world):
    form = {
        "type": "object",
        "properties": {"business_name": {"type": "string", "title": "个体工商户名称"}},
    }
    table = {
        "rules": [{"when": [{"fact": "form.business_name", "op": "exists"}], "outcome": "approve"}],
        "examples": [{"name": "有名称", "facts": {"form.business_name": "小店"}, "expect": "refuse"}],
    }
    result = services.item_save_draft(actor=world.market_admin, data=item_data(form_schema=form, decision_table=table))
    item = result.version.item
    with pytest.raises(ValidationFailed) as failed:
        services.item_publish(actor=world.market_admin, item=item)
    assert failed.value.code == "decision_table_failed"
    assert "示例「有名称」预期" in failed.value.fields["decision_table"][0]
    table["examples"][0]["expect"] = "approve"
    services.item_save_draft(actor=world.market_admin, data=item_data(form_schema=form, decision_table=table))
    v1 = services.item_publish(actor=world.market_admin, item=item)
    assert v1.decision_table["rules"][0]["outcome"] == "approve"
    exported = selectors.item_version_to_data(v1)
    assert exported["decision_table"] == v1.decision_table
    # A form field the form lacks is refused at saving, naming it.
    table["rules"][0]["when"][0]["fact"] = "form.shop_size"
    with pytest.raises(ValidationFailed) as bad:
        services.item_save_draft(actor=world.market_admin, data=item_data(form_schema=form, decision_table=table))
    assert any("shop_size" in m for m in bad.value.fields["decision_table.rules.1.when.1.fact"])


@pytest.mark.django_db
def test_an_item_without_a_table_keeps_its_content_digest(world):
    result = services.item_save_draft(actor=world.market_admin, data=item_data())
    assert "decision_table" not in selectors.item_version_to_data(result.version)
    again = services.item_save_draft(actor=world.market_admin, data={**item_data(), "decision_table": {}})
    assert again.outcome == "unchanged"


@pytest.mark.django_db
def test_the_catalog_shows_free_materials_the_reduction_ratio_and_instant_items(world, client):
    form = {"type": "object", "properties": {"business_name": {"type": "string"}}}
    table = {
        "rules": [{"when": [{"fact": "form.business_name", "op": "exists"}], "outcome": "approve"}],
        "examples": [{"facts": {"form.business_name": "x"}, "expect": "approve"}],
    }
    result = services.item_save_draft(actor=world.market_admin, data=item_data(form_schema=form, decision_table=table))
    services.item_publish(actor=world.market_admin, item=result.version.item)
    body = client.get("/api/v1/catalog/items/SZ-SJJ-0001").json()
    assert body["certificate_free_materials"] == 1 and body["material_reduction_ratio"] == round(1 / 3, 4)
    assert body["automatic_decision"] is True
    page = client.get("/services/items/SZ-SJJ-0001/").content.decode()
    assert "材料减免比例 33%" in page and 'id="instant"' in page


@pytest.mark.django_db
def test_the_workbench_page_runs_the_examples_and_saves_only_a_passing_table(world, client):
    form = {"type": "object", "properties": {"business_name": {"type": "string"}}}
    result = services.item_save_draft(actor=world.market_admin, data=item_data(form_schema=form))
    services.item_publish(actor=world.market_admin, item=result.version.item)
    _login(client, world.market_admin)
    url = "/workbench/catalog/items/SZ-SJJ-0001/decision-table/"
    page = client.get(url)
    assert page.status_code == 200 and "form.business_name" in page.content.decode()
    failing = """
rules:
  - when: [{fact: form.business_name, op: exists}]
    outcome: approve
examples:
  - {name: 有名称, facts: {form.business_name: 小店}, expect: refer}
"""
    checked = client.post(url, {"content": failing, "action": "save"})
    assert checked.status_code == 422 and "示例「有名称」预期 refer" in checked.content.decode()
    unknown = client.post(url, {"content": failing.replace("form.business_name", "form.size"), "action": "check"})
    assert unknown.status_code == 422 and "申请表中没有的字段「size」" in unknown.content.decode()
    saved = client.post(url, {"content": failing.replace("expect: refer", "expect: approve"), "action": "save"})
    assert saved.status_code == 302
    draft = selectors.item_draft(item=result.version.item)
    assert draft.decision_table["rules"][0]["outcome"] == "approve"
    services.item_publish(actor=world.market_admin, item=result.version.item)
    _login(client, world.huqiu_admin)  # another department's admin: the item does not exist for him
    assert client.get(url).status_code == 404


def _login(client, user):
    from yiwang.identity import mfa

    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # as after a TOTP check (tested in identity)
    session.save()
