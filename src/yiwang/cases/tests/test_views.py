"""The case pages, driven like a person would through the Django test client: an online and a
walk-in applicant each carried to delivery, the double click, scoping, bad input and bad files.
Data comes from the real services (``factories.build_world``)."""

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from yiwang.cases.models import Case, CaseMaterial, CaseState, Channel
from yiwang.cases.tests.factories import attach_required, publish_item
from yiwang.core.codes import make_id_number
from yiwang.identity.models import User

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pdf(name="scan.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def requirement_ids(item) -> dict[str, int]:
    return {m.name: m.pk for m in item.current_version.materials.all()}


def required_scan(item) -> dict:
    """The post fields that attach a scan of the 申请书 (the required material acceptance needs)."""
    return {f"material_{requirement_ids(item)['个体工商户登记申请书']}": pdf()}


def idempotency_key(page) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.content.decode()).group(1)


def act(client, case, action, **data):
    case.refresh_from_db()
    response = client.post(f"/workbench/cases/{case.pk}/{action}/", {"version": case.version, **data})
    assert response.status_code == 302, response.content.decode()[:500]
    return client.get(response.url) if "/workbench/cases/" in response.url else response


def back_office_to_delivery(world, case, clerk_client):
    """Reviewer claims and records the 审查 opinion, the head decides, the window delivers."""
    reviewer = client_for(world.reviewer)
    page = reviewer.get("/workbench/cases/")
    assert case.number in page.content.decode()  # in the department's queue
    act(reviewer, case, "claim")
    page = act(reviewer, case, "opinion", opinion="材料齐全，符合法定形式", outcome="agree")
    assert "审查意见已记录" in page.content.decode()
    head = client_for(world.head)
    page = act(head, case, "decide", decision="approve", reasons="")
    assert "准予许可" in page.content.decode()
    page = clerk_client.get("/workbench/cases/")
    assert case.number in page.content.decode()  # waiting for delivery at the window
    act(clerk_client, case, "deliver", method="window")
    case.refresh_from_db()
    assert case.state == CaseState.DELIVERED


def test_online_applicant_applies_and_the_case_goes_to_delivery_by_pages(world):
    applicant = client_for(world.applicant)
    guide = Client().get(f"/services/items/{world.market_item.implementation_code}/")
    assert f"/cases/apply/{world.market_item.implementation_code}/" in guide.content.decode()

    page = applicant.get(f"/cases/apply/{world.market_item.implementation_code}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "个体工商户名称" in html and "免提交" in html  # 经营者身份证明 comes from the license
    ids = requirement_ids(world.market_item)
    response = applicant.post(
        page.wsgi_request.path,
        {
            "idempotency_key": idempotency_key(page),
            "f_business_name": "张三小吃店",
            f"material_{ids['个体工商户登记申请书']}": pdf(),
        },
    )
    case = Case.objects.get(applicant=world.applicant)
    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"
    assert case.channel == Channel.ONLINE and case.form_data == {"business_name": "张三小吃店"}
    assert case.materials.get().name == "个体工商户登记申请书"
    detail = applicant.get(response.url).content.decode()
    assert case.number in detail and "已提交" in detail and "个体工商户登记申请书" in detail
    assert case.number in applicant.get("/cases/").content.decode()

    clerk = client_for(world.clerk)
    assert case.number in clerk.get("/workbench/cases/").content.decode()
    page = act(clerk, case, "accept")
    assert "已受理" in page.content.decode()
    back_office_to_delivery(world, case, clerk)

    detail = applicant.get(f"/cases/{case.pk}/").content.decode()
    assert "已送达" in detail and "受理通知书" in detail and "决定书" in detail
    assert "审查意见" not in detail  # internal opinions stay in the back office
    notice = applicant.get(f"/cases/{case.pk}/notices/decision.pdf")
    assert notice.status_code == 200 and notice["Content-Type"] == "application/pdf"
    assert notice.content.startswith(b"%PDF")
    material = case.materials.get()
    download = applicant.get(f"/cases/{case.pk}/materials/{material.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF


def test_walk_in_applicant_is_registered_served_at_the_window_and_delivered(world):
    clerk = client_for(world.clerk)
    id_number = make_id_number("320505", datetime.date(1970, 3, 4), 31)
    page = clerk.get("/workbench/cases/window/", {"id_number": id_number})
    assert "未找到该身份证号的账号" in page.content.decode()
    bad = clerk.post(
        "/workbench/cases/window/register/", {"id_number": id_number[:-1] + "0", "real_name": "王五", "phone": "123"}
    )
    assert bad.status_code == 422 and "请输入正确的 11 位手机号码" in bad.content.decode()
    response = clerk.post(
        "/workbench/cases/window/register/", {"id_number": id_number, "real_name": "王五", "phone": "13700001111"}
    )
    assert response.status_code == 200 and "账号激活告知单" in response.content.decode()  # printed at the window
    walk_in = User.objects.get(real_name="王五")
    assert walk_in.kind == User.Kind.CITIZEN and walk_in.id_number == id_number
    page = clerk.get("/workbench/cases/window/").content.decode()
    assert "王*" in page and "王五" not in page  # masked at the counter screen too
    assert world.market_item.implementation_code in page

    code = world.market_item.implementation_code
    form = clerk.get(f"/workbench/cases/window/apply/{code}/")
    ids = requirement_ids(world.market_item)
    response = clerk.post(
        f"/workbench/cases/window/apply/{code}/",
        {
            "idempotency_key": idempotency_key(form),
            "f_business_name": "王五面馆",
            f"material_{ids['个体工商户登记申请书']}": pdf("scan.pdf"),
        },
    )
    case = Case.objects.get(applicant=walk_in)
    assert response.url == f"/workbench/cases/{case.pk}/"
    assert case.channel == Channel.WINDOW and case.received_by == world.clerk
    page = act(clerk, case, "accept")
    assert "受理通知书" in page.content.decode()
    assert clerk.get(f"/cases/{case.pk}/notices/acceptance.pdf").content.startswith(b"%PDF")  # print it
    back_office_to_delivery(world, case, clerk)


def test_window_finds_an_existing_applicant_by_id_number(world):
    clerk = client_for(world.clerk)
    response = clerk.get("/workbench/cases/window/", {"id_number": world.applicant.id_number})
    assert response.status_code == 302
    page = clerk.get(response.url).content.decode()
    assert "张*" in page and world.applicant.id_number not in page
    citizen = client_for(world.applicant)
    assert citizen.get("/workbench/cases/window/").status_code == 404
    assert client_for(world.reviewer).get("/workbench/cases/window/").status_code == 404  # not a clerk


def test_a_double_click_makes_one_case(world):
    applicant = client_for(world.applicant)
    url = f"/cases/apply/{world.market_item.implementation_code}/"
    key = idempotency_key(applicant.get(url))
    ids = requirement_ids(world.market_item)
    first = applicant.post(
        url, {"idempotency_key": key, "f_business_name": "张三小吃店", f"material_{ids['个体工商户登记申请书']}": pdf()}
    )
    second = applicant.post(
        url, {"idempotency_key": key, "f_business_name": "张三小吃店", f"material_{ids['个体工商户登记申请书']}": pdf()}
    )
    assert first.url == second.url
    assert Case.objects.filter(applicant=world.applicant).count() == 1
    assert CaseMaterial.objects.count() == 1
    other = applicant.post(url, {"idempotency_key": "another-key", "f_business_name": "张三小吃店"})
    assert other.url != first.url and Case.objects.count() == 2


def test_staff_of_another_department_get_404(world):
    applicant = client_for(world.applicant)
    url = f"/cases/apply/{world.market_item.implementation_code}/"
    application = {"idempotency_key": "k1", "f_business_name": "张三小吃店", **required_scan(world.market_item)}
    applicant.post(url, application)
    case = Case.objects.get()
    act(client_for(world.clerk), case, "accept")
    police = client_for(world.police_reviewer)
    assert police.get(f"/workbench/cases/{case.pk}/").status_code == 404
    assert police.post(f"/workbench/cases/{case.pk}/claim/", {"version": case.version + 1}).status_code == 404
    assert police.get(f"/cases/{case.pk}/notices/acceptance.pdf").status_code == 404
    assert case.number not in police.get("/workbench/cases/").content.decode()
    assert client_for(world.other_citizen).get(f"/cases/{case.pk}/").status_code == 404
    assert applicant.get(f"/workbench/cases/{case.pk}/").status_code == 404  # no workbench for citizens
    assert client_for(world.reviewer).get(f"/workbench/cases/{case.pk}/").status_code == 200
    assert applicant.get(f"/cases/{case.pk}/notices/refusal.pdf").status_code == 404  # no such notice (yet)
    assert applicant.get(f"/cases/{case.pk}/notices/bogus.pdf").status_code == 404
    assert applicant.get(f"/cases/{case.pk}/notices/acceptance.pdf").status_code == 200
    case.refresh_from_db()
    assert case.assignee is None


def test_bad_form_input_shows_the_fields_chinese_error(world):
    item = publish_item(
        world.tree.root,
        implementation_code="SZ-SJJ-0077",
        name="食品经营许可",
        aliases=[],
        keywords=[],
        form_schema={
            "type": "object",
            "required": ["business_name", "area"],
            "properties": {
                "business_name": {"type": "string", "title": "经营者名称", "maxLength": 20},
                "area": {"type": "integer", "title": "经营面积", "minimum": 1, "description": "平方米"},
                "phone": {"type": "string", "title": "联系电话", "pattern": "^1[3-9][0-9]{9}$"},
                "kind": {"type": "string", "title": "主体业态", "enum": ["食品销售", "餐饮服务"]},
                "opened": {"type": "string", "format": "date", "title": "开业日期"},
                "chain": {"type": "boolean", "title": "连锁经营"},
            },
        },
    )
    applicant = client_for(world.applicant)
    url = f"/cases/apply/{item.implementation_code}/"
    form = applicant.get(url).content.decode()
    assert 'type="date"' in form and "<select" in form and 'type="checkbox"' in form and "平方米" in form
    page = applicant.post(url, {"idempotency_key": "k", "f_area": "很大", "f_phone": "12345"})
    html = page.content.decode()
    assert page.status_code == 422
    assert "「经营面积」须为整数" in html
    assert "请填写「经营者名称」" in html
    assert "「联系电话」的格式不正确" in html
    assert 'value="12345"' in html  # what was typed stays
    page = applicant.post(url, {"idempotency_key": "k", "f_business_name": "好味道", "f_area": "0", "f_kind": "别的"})
    html = page.content.decode()
    assert page.status_code == 422 and "「经营面积」太小" in html and "「主体业态」只能从给定选项中选择" in html
    assert not Case.objects.exists()
    response = applicant.post(
        url,
        {
            "idempotency_key": "k",
            "f_business_name": "好味道",
            "f_area": "35",
            "f_chain": "on",
            "f_opened": "2026-01-05",
        },
    )
    assert response.status_code == 302
    assert Case.objects.get().form_data == {
        "business_name": "好味道",
        "area": 35,
        "chain": True,
        "opened": "2026-01-05",
    }


def test_a_bad_file_refuses_the_whole_submission_naming_the_material(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    applicant = client_for(world.applicant)
    ids = requirement_ids(world.market_item)
    form = {"idempotency_key": "k", "f_business_name": "张三小吃店"}
    response = applicant.post(
        f"/cases/apply/{world.market_item.implementation_code}/",
        {
            **form,
            f"material_{ids['个体工商户登记申请书']}": pdf("form.pdf"),
            f"material_{ids['经营场所使用证明']}": pdf("lease.pdf", b"just some text, named .pdf"),
        },
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "材料「经营场所使用证明」" in html and "不是 PDF、JPEG、PNG 或 OFD 格式" in html
    assert "张三小吃店" in html  # what was typed is kept
    # nothing was submitted; the good file is kept in a draft so it need not be chosen again (#14)
    assert not Case.objects.exclude(state=CaseState.DRAFT).exists()
    draft = Case.objects.get(state=CaseState.DRAFT)
    assert [m.name for m in draft.materials.all()] == ["个体工商户登记申请书"]
    assert "已上传：form.pdf" in html
    # the applicant picks the right file and submits again: one case, both files
    response = applicant.post(
        f"/cases/apply/{world.market_item.implementation_code}/",
        {
            **form,
            f"material_{ids['个体工商户登记申请书']}": pdf("form.pdf"),
            f"material_{ids['经营场所使用证明']}": pdf("lease.pdf"),
        },
        follow=True,
    )
    assert response.status_code == 200
    case = Case.objects.exclude(state=CaseState.DRAFT).get()
    assert sorted(m.name for m in case.materials.all()) == ["个体工商户登记申请书", "经营场所使用证明"]
    assert case.steps.filter(kind="material_added").count() == 2


def test_supplement_answer_and_withdraw_by_pages(world):
    applicant = client_for(world.applicant)
    applicant.post(
        f"/cases/apply/{world.market_item.implementation_code}/", {"idempotency_key": "k", "f_business_name": "小店"}
    )
    case = Case.objects.get()
    clerk = client_for(world.clerk)
    page = act(
        clerk, case, "supplement", items="经营场所使用证明：缺少出租方签字\n个体工商户登记申请书：未签名", note=""
    )
    assert "补正告知书" in page.content.decode()
    detail = applicant.get(f"/cases/{case.pk}/").content.decode()
    assert "缺少出租方签字" in detail and "未签名" in detail and "提交补正" in detail
    assert applicant.get(f"/cases/{case.pk}/notices/supplement.pdf").content.startswith(b"%PDF")
    ids = requirement_ids(world.market_item)
    response = applicant.post(
        f"/cases/{case.pk}/supplement/", {"note": "已补签", f"material_{ids['经营场所使用证明']}": pdf()}, follow=True
    )
    assert "补正材料已提交" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED and case.materials.count() == 1
    response = applicant.post(f"/cases/{case.pk}/withdraw/", {"version": case.version, "reason": "不开了"}, follow=True)
    assert "申请已撤回" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN


def test_staff_errors_are_messages_not_500s(world):
    applicant = client_for(world.applicant)
    applicant.post(
        f"/cases/apply/{world.market_item.implementation_code}/",
        {"idempotency_key": "k", "f_business_name": "小店", **required_scan(world.market_item)},
    )
    case = Case.objects.get()
    clerk = client_for(world.clerk)
    stale = case.version
    page = act(clerk, case, "refuse", reason="")
    assert "请填写不予受理的理由" in page.content.decode()
    act(clerk, case, "accept")
    response = clerk.post(f"/workbench/cases/{case.pk}/accept/", {"version": stale}, follow=True)
    assert "已被他人处理" in response.content.decode()
    reviewer = client_for(world.reviewer)
    act(reviewer, case, "opinion", opinion="同意")
    page = act(client_for(world.head), case, "decide", decision="reject", reasons="")
    assert "不予许可须说明理由" in page.content.decode()
    page = act(client_for(world.reviewer2), case, "decide", decision="approve")
    assert "只有本部门负责人可以作出决定" in page.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.UNDER_REVIEW


@pytest.mark.parametrize("path", ["/cases/", "/workbench/cases/"])
def test_pages_need_sign_in(db, path):
    response = Client().get(path)
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_workbench_home_offers_cases_to_case_staff_only(world):
    assert "/workbench/cases/" in client_for(world.clerk).get("/workbench/").content.decode()
    assert "/workbench/cases/" in client_for(world.head).get("/workbench/").content.decode()
    from yiwang.identity.tests.tree import make_staff

    assert "/workbench/cases/" not in client_for(make_staff("nobody")).get("/workbench/").content.decode()


def test_list_pages_query_count_does_not_grow_with_cases(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yiwang.cases import services

    def add_cases(n, start):
        for i in range(start, start + n):
            case, _ = services.case_submit(
                actor=world.applicant,
                item=world.market_item,
                form_data={"business_name": f"店{i}"},
                idempotency_key=f"q{i}",
            )
            if i % 2:
                attach_required(case)
                services.case_accept(actor=world.clerk, case_id=case.pk)
                services.case_claim(actor=world.reviewer, case_id=case.pk)

    pages = [(client_for(world.reviewer), "/workbench/cases/"), (client_for(world.applicant), "/cases/")]
    clerk = client_for(world.clerk)
    pages.append((clerk, "/workbench/cases/"))
    add_cases(2, 0)
    counts = []
    for client, url in pages:
        client.get(url)  # the first request of a session also writes the session
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append(len(ctx))
    add_cases(6, 2)
    for (client, url), before in zip(pages, counts, strict=True):
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(url)
        assert page.status_code == 200 and len(ctx) == before, (url, before, len(ctx))


def test_refusal_extension_and_a_supplement_answered_at_the_window(world):
    applicant = client_for(world.applicant)
    url = f"/cases/apply/{world.market_item.implementation_code}/"
    for key in ("r1", "r2", "r3"):
        applicant.post(
            url, {"idempotency_key": key, "f_business_name": f"小店{key}", **required_scan(world.market_item)}
        )
    refused, extended, supplemented = Case.objects.order_by("pk")
    clerk, head = client_for(world.clerk), client_for(world.head)

    act(clerk, refused, "refuse", reason="经营场所位于禁止经营区域")
    detail = applicant.get(f"/cases/{refused.pk}/").content.decode()
    assert "不予受理" in detail and "禁止经营区域" in detail and "行政复议" in detail
    assert applicant.get(f"/cases/{refused.pk}/notices/refusal.pdf").content.startswith(b"%PDF")

    act(clerk, extended, "accept")
    extended.refresh_from_db()
    due = extended.due_date
    page = act(head, extended, "extend", days="3", reason="需要现场核查")
    assert "已延长办理期限" in page.content.decode()
    extended.refresh_from_db()
    assert extended.extension_days == 3 and extended.due_date > due
    page = act(head, extended, "extend", days="abc", reason="再延")
    assert "请填写延长的工作日数" in page.content.decode()

    act(clerk, supplemented, "supplement", items="个体工商户登记申请书：缺少签名")
    ids = requirement_ids(world.market_item)
    response = clerk.post(
        f"/cases/{supplemented.pk}/supplement/",
        {"from": "workbench", "note": "申请人到窗口补签", f"material_{ids['个体工商户登记申请书']}": pdf()},
    )
    assert response.url == f"/workbench/cases/{supplemented.pk}/"
    supplemented.refresh_from_db()
    assert supplemented.state == CaseState.SUBMITTED and supplemented.materials.count() == 2
