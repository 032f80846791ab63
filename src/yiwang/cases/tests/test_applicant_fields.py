"""The form's fields that identify the applicant (``"x-applicant"`` in the item's schema) come
from the signed-in identity, never from what was typed, and no full 身份证号 leaves the server
in a case's form (docs/api.md, "Personal data")."""

import datetime

import pytest

from yiwang.cases import services
from yiwang.cases.models import Case
from yiwang.cases.tests.factories import ID_NUMBER, PHONE, publish_item
from yiwang.cases.tests.test_api import API, auth, post
from yiwang.core.codes import make_id_number
from yiwang.core.errors import ValidationFailed

SOMEONE_ELSE = make_id_number("320505", datetime.date(1990, 3, 4), 77)
SPOUSE = make_id_number("320506", datetime.date(1988, 7, 9), 31)
SCHEMA = {
    "type": "object",
    "required": ["name", "id_number", "business_name"],
    "properties": {
        "name": {"type": "string", "title": "姓名", "x-applicant": "name"},
        "id_number": {
            "type": "string",
            "title": "公民身份号码",
            "pattern": "^[0-9]{17}[0-9Xx]$",
            "x-applicant": "id_number",
        },
        "phone": {"type": "string", "title": "联系电话", "x-applicant": "phone"},
        "spouse_id_number": {"type": "string", "title": "配偶身份号码"},
        "business_name": {"type": "string", "title": "个体工商户名称"},
    },
}


@pytest.fixture
def item(world):
    return publish_item(
        world.tree.root,
        implementation_code="SZ-SJJ-0099",
        name="带申请人信息的事项",
        aliases=[],
        keywords=[],
        form_schema=SCHEMA,
    )


def test_identity_fields_are_filled_from_the_signed_in_applicant(world, item):
    case, _ = services.case_submit(actor=world.applicant, item=item, form_data={"business_name": "张三小吃店"})
    assert case.form_data["name"] == "张三" and case.form_data["id_number"] == ID_NUMBER
    assert case.form_data["phone"] == PHONE
    # Typing one's own number (or its masked form, as a page shows it) is the same.
    masked = ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
    again, _ = services.case_submit(
        actor=world.applicant, item=item, form_data={"business_name": "x", "id_number": masked, "name": "张三"}
    )
    assert again.form_data["id_number"] == ID_NUMBER


@pytest.mark.parametrize(("field", "value"), [("id_number", SOMEONE_ELSE), ("name", "李四")])
def test_another_persons_identity_is_refused_naming_the_field(world, item, field, value):
    with pytest.raises(ValidationFailed) as exc:
        services.case_submit(actor=world.applicant, item=item, form_data={"business_name": "x", field: value})
    assert exc.value.code == "applicant_mismatch" and f"form_data.{field}" in exc.value.fields
    assert not Case.objects.exists()


def test_at_a_window_the_identity_comes_from_the_applicants_record(world, item):
    case, _ = services.case_submit(
        actor=world.clerk, applicant=world.applicant, channel="window", item=item, form_data={"business_name": "x"}
    )
    assert case.form_data["id_number"] == ID_NUMBER and case.form_data["name"] == "张三"


def test_no_full_id_number_in_the_api_or_on_the_case_page(client, world, item):
    body = {"item": item.implementation_code, "form_data": {"business_name": "x", "spouse_id_number": SPOUSE}}
    created = post(client, f"{API}/", world.applicant, body)
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert Case.objects.get(pk=pk).form_data["id_number"] == ID_NUMBER  # stored in full (encrypted at rest)
    for user in (world.applicant, world.reviewer):
        response = client.get(f"{API}/{pk}", **auth(user))
        assert response.status_code == 200
        text = response.content.decode()
        assert ID_NUMBER not in text and SPOUSE not in text and PHONE not in text
        form = response.json()["form_data"]
        assert form["id_number"] == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
        assert form["spouse_id_number"] == SPOUSE[:6] + "********" + SPOUSE[-4:]
    assert client.get(f"{API}/{pk}", **auth(world.applicant)).json()["form_data"]["name"] == "张三"
    assert client.get(f"{API}/{pk}", **auth(world.reviewer)).json()["form_data"]["name"] == "张*"
    other = {**body, "form_data": {"business_name": "x", "id_number": SPOUSE}}
    refused = post(client, f"{API}/", world.applicant, other)
    assert refused.status_code == 422 and "form_data.id_number" in refused.json()["fields"]

    client.force_login(world.applicant)
    page = client.get(f"/cases/{pk}/").content.decode()
    assert "张三" in page and ID_NUMBER not in page and SPOUSE not in page
    assert ID_NUMBER[:6] + "********" + ID_NUMBER[-4:] in page
