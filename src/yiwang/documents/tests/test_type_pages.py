"""The workbench page of the document types and their routes: every member of staff reads
them; a department admin defines his department's types and a city admin (here the
superuser) the city-wide ones, with errors next to the fields — the route's naming the step —
and nothing saved on bad input; anyone else gets 404."""

import pytest

from yiwang.core.models import AuditEvent
from yiwang.documents.models import DocumentType
from yiwang.identity import mfa

pytestmark = pytest.mark.django_db
TYPES = "/workbench/documents/types/"
EDIT = "/workbench/documents/types/edit/"


def _sign_in(client, user):
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # admins pass TOTP first (tested in identity)
    session.save()


def _route(*steps):
    data = {}
    for n, (kind, role, departments) in enumerate(steps):
        data |= {f"step-{n}-kind": kind, f"step-{n}-role": role, f"step-{n}-departments": departments}
    return data


def test_staff_read_the_routes(client, office):
    _sign_in(client, office["drafter"])
    page = client.get(TYPES).content.decode()
    assert "通知" in page and "测市监发" in page and "全市通用" in page
    assert "审核" in page and "印发" in page and "修改路线" not in page  # a clerk defines nothing
    assert client.get(EDIT).status_code == 404
    _sign_in(client, office["citizen"])
    assert client.get(TYPES).status_code == 404


def test_department_admin_defines_a_route_for_his_department(client, office):
    _sign_in(client, office["admin"])
    form = client.get(EDIT).content.decode()
    assert 'value="T-SCJG"' in form and "全市通用" not in form  # not his to define
    data = {"code": "qingshi", "name": "请示", "number_prefix": "测市监请", "department": "T-SCJG", "is_active": "on"}
    saved = client.post(
        EDIT,
        data
        | _route(
            ("review", "reviewer", ""),
            ("countersign", "department_head", "T-GAJ T-SJJ"),
            ("issue", "department_head", ""),
        ),
    )
    assert saved.status_code == 302 and saved["Location"] == TYPES
    doc_type = DocumentType.objects.get(code="qingshi")
    assert doc_type.department == office.market and [s["kind"] for s in doc_type.steps] == [
        "review",
        "countersign",
        "issue",
    ]
    assert doc_type.steps[1]["departments"] == ["T-GAJ", "T-SJJ"]
    assert AuditEvent.objects.filter(action__endswith=".type_created", object_id=str(doc_type.pk)).exists()
    page = client.get(TYPES).content.decode()
    assert "测试市公安局、测试市大数据局" in page and f"{EDIT}?code=qingshi" in page
    assert f"{EDIT}?code=notice" not in page  # the city-wide type is the city admin's
    assert client.get(EDIT, {"code": "notice"}).status_code == 404
    # The form comes back with the route as it was.
    again = client.get(EDIT, {"code": "qingshi"}).content.decode()
    assert 'value="T-GAJ T-SJJ"' in again and "readonly" in again


def test_bad_route_names_the_step_and_saves_nothing(client, office):
    _sign_in(client, office["admin"])
    data = {"code": "han", "name": "函", "department": "T-SCJG", "is_active": "on"}
    bad = client.post(EDIT, data | _route(("review", "reviewer", "T-NOPE"), ("sign_off", "department_head", "")))
    assert bad.status_code == 422
    text = bad.content.decode()
    assert "第 1 步:部门编码不存在:T-NOPE" in text
    assert 'value="T-NOPE"' in text  # what was typed comes back
    assert not DocumentType.objects.filter(code="han").exists()
    no_route = client.post(EDIT, data)
    assert no_route.status_code == 422 and "请至少定义一个流转步骤" in no_route.content.decode()
    other = client.post(EDIT, data | {"department": "T-GAJ"} | _route(("issue", "department_head", "")))
    assert other.status_code == 422 and "请选择您可以管理的部门" in other.content.decode()
    city_wide = client.post(EDIT, data | {"department": ""} | _route(("issue", "department_head", "")))
    assert city_wide.status_code == 422 and "全市通用的类型由市级管理员定义" in city_wide.content.decode()
    assert not DocumentType.objects.filter(code="han").exists()


def test_city_admin_changes_the_city_wide_route(client, office):
    _sign_in(client, office.root)
    form = client.get(EDIT, {"code": "notice"}).content.decode()
    assert "全市通用" in form and 'value="notice"' in form
    changed = client.post(
        EDIT,
        {"code": "notice", "name": "通知", "number_prefix": "测市监发", "department": "", "is_active": "on"}
        | _route(("review", "reviewer", ""), ("issue", "department_head", "")),
    )
    assert changed.status_code == 302
    assert [s["kind"] for s in DocumentType.objects.get(code="notice").steps] == ["review", "issue"]
