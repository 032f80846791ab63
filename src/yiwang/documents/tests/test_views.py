"""The workbench pages: to-do, draft with errors next to the fields, the document page and its
actions, the roster week; a document outside one's route is a 404, non-staff get 404."""

import datetime

import pytest
from django.utils import timezone

from yiwang.documents import services
from yiwang.documents.models import Document
from yiwang.documents.tests.factories import draft, pending_step, route_to_issue

pytestmark = pytest.mark.django_db
BASE = "/workbench/documents/"


def test_todo_detail_and_approve_from_the_page(client, office):
    document = draft(office)
    services.document_submit(actor=office["drafter"], document=document)
    client.force_login(office["reviewer"])
    page = client.get(BASE)
    assert page.status_code == 200 and document.title in page.content.decode()
    detail = client.get(f"{BASE}{document.pk}/")
    assert "同意" in detail.content.decode() and "退回拟稿人" in detail.content.decode()
    step = pending_step(document)
    response = client.post(f"{BASE}{document.pk}/approve/", {"step": step.pk, "comment": "同意"})
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.state == "approved" and step.comment == "同意"
    police_step = pending_step(document, office.police)
    response = client.post(f"{BASE}{document.pk}/approve/", {"step": police_step.pk}, follow=True)
    assert "该步骤须由测试市公安局的“部门负责人”办理" in response.content.decode()
    client.force_login(office["police_head"])
    response = client.post(f"{BASE}{document.pk}/return/", {"step": police_step.pk, "comment": ""}, follow=True)
    assert "退回须写明理由" in response.content.decode()
    client.post(f"{BASE}{document.pk}/return/", {"step": police_step.pk, "comment": "请补充依据"})
    document.refresh_from_db()
    assert document.state == "returned"


def test_outsiders_and_citizens_get_404(client, office):
    document = route_to_issue(office)
    client.force_login(office["data_clerk"])  # a recipient department: visible
    assert client.get(f"{BASE}{document.pk}/").status_code == 200
    assert client.get(f"{BASE}{document.pk}/pdf/").status_code == 200
    client.force_login(office["citizen"])
    assert client.get(BASE).status_code == 404
    assert client.get(f"{BASE}{document.pk}/").status_code == 404
    other = draft(office, title="未送审")
    client.force_login(office["head"])
    assert client.get(f"{BASE}{other.pk}/").status_code == 404
    assert client.post(f"{BASE}{other.pk}/submit/").status_code == 404


def test_draft_form_shows_errors_next_to_fields_and_saves_nothing(client, office):
    client.force_login(office["drafter"])
    assert client.get(f"{BASE}new/").status_code == 200
    response = client.post(
        f"{BASE}new/", {"document_type": office.doc_type.pk, "department": office.market.pk, "title": "", "body": ""}
    )
    assert response.status_code == 422 and 'class="field-error"' in response.content.decode()
    assert not Document.objects.exists()
    response = client.post(
        f"{BASE}new/",
        {
            "document_type": office.doc_type.pk,
            "department": office.market.pk,
            "title": "关于值班安排的通知",
            "body": "请按时到岗。",
            "recipient_departments": [office.police.pk],
        },
    )
    document = Document.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{document.pk}/")
    client.post(f"{BASE}{document.pk}/submit/")
    document.refresh_from_db()
    assert document.state == "routing"


def test_acknowledge_and_receipt_list_on_the_page(client, office):
    document = route_to_issue(office)
    client.force_login(office["police_clerk"])
    assert "签收" in client.get(f"{BASE}{document.pk}/").content.decode()
    client.post(f"{BASE}{document.pk}/acknowledge/")
    client.force_login(office["drafter"])
    page = client.get(f"{BASE}{document.pk}/").content.decode()
    assert "签收情况(1/3)" in page and "催签" in page


def test_roster_week_masks_the_phone_and_swaps(client, office):
    start = timezone.now() - datetime.timedelta(hours=1)
    shift = services.shift_create(
        actor=office["head"],
        department=office.market,
        person=office["reviewer"],
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=24),
        phone="13912345678",
    )
    client.force_login(office["reviewer"])
    page = client.get(f"{BASE}duty/?department={office.market.pk}").content.decode()
    assert "139****5678" in page and "13912345678" not in page and "申请换班给" in page
    part = client.get(f"{BASE}duty/?department={office.market.pk}&part=now", HTTP_HX_REQUEST="true")
    assert 'id="duty-now"' in part.content.decode() and "<html" not in part.content.decode()
    client.post(f"{BASE}duty/shifts/{shift.pk}/swap/", {"to_user": office["drafter"].pk})
    client.force_login(office["drafter"])
    swap = shift.swaps.get()
    client.post(f"{BASE}duty/swaps/{swap.pk}/", {"accept": "1", "phone": "0917-3261234"})
    shift.refresh_from_db()
    assert shift.person == office["drafter"] and shift.phone == "0917-3261234"
    client.force_login(office["head"])
    response = client.post(
        f"{BASE}duty/shifts/",
        {
            "department": office.market.pk,
            "person": office["admin"].pk,
            "starts_at": "2026-01-05T08:30",
            "ends_at": "2026-01-05T07:00",
            "phone": "x",
        },
        follow=True,
    )
    assert "结束时间须晚于开始时间" in response.content.decode()


def test_hotline_workbench_shows_who_is_on_duty_masked(client, office):
    start = timezone.now() - datetime.timedelta(hours=2)
    services.shift_create(
        actor=office["head"],
        department=office.market,
        person=office["reviewer"],
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=12),
        phone="0917-3261234",
    )
    services.shift_create(
        actor=office["head"],
        department=office.market,
        person=office["admin"],
        starts_at=start + datetime.timedelta(hours=12),
        ends_at=start + datetime.timedelta(hours=24),
        phone="13900001111",
    )
    client.force_login(office["police_clerk"])
    page = client.get("/workbench/hotline/").content.decode()
    assert "测试市市场监督管理局 · 测试1 · 091*****1234" in page
    assert "139****1111" not in page  # not on duty yet
