"""The front office: required materials at acceptance, what a stale version may reveal to a
window clerk, and a walk-in intake page that never loses what the clerk typed."""

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from yiwang.cases import selectors, services
from yiwang.cases.models import Case, CaseState, Channel
from yiwang.cases.tests.factories import FORM, PDF, attach_required, make_citizen, publish_item
from yiwang.core.codes import make_id_number
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.identity.models import Role
from yiwang.identity.tests.tree import make_staff


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def submit(world, item=None, actor=None, **extra):
    return services.case_submit(
        actor=actor or world.applicant, item=item or world.market_item, form_data=FORM, **extra
    )[0]


def two_material_item(world):
    """市场监管局 item with two required applicant materials, one from a license, one conditional."""
    return publish_item(
        world.tree.root,
        implementation_code="SZ-SJJ-0009",
        name="食品经营许可",
        aliases=[],
        keywords=[],
        materials=[
            {"name": "食品经营许可申请书", "requirement": "required"},
            {"name": "食品安全管理制度", "requirement": "required"},
            {"name": "营业执照", "source": "license", "license_type_code": "business_license"},
            {"name": "户籍证明", "source": "registry", "registry_field": "hukou"},
            {"name": "授权委托书", "requirement": "conditional", "condition": "委托他人办理的"},
        ],
    )


# --- required materials at acceptance --------------------------------------------------------


def test_acceptance_names_every_missing_required_material_and_changes_nothing(world):
    item = two_material_item(world)
    case = submit(world, item=item)
    with pytest.raises(ValidationFailed) as exc:
        services.case_accept(actor=world.clerk, case_id=case.pk, expected_version=case.version)
    error = exc.value
    assert error.code == "materials_missing"
    assert "「食品经营许可申请书」、「食品安全管理制度」" in str(error.message) and "一次性告知" in str(error.message)
    for held in ("营业执照", "户籍证明", "授权委托书"):  # the government's own data; a conditional one
        assert held not in str(error.message)
    requirements = {m.name: m.pk for m in item.current_version.materials.all()}
    assert error.fields == {
        f"materials.{requirements['食品经营许可申请书']}": "材料「食品经营许可申请书」尚未提交",
        f"materials.{requirements['食品安全管理制度']}": "材料「食品安全管理制度」尚未提交",
    }
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED and case.version == 1 and case.accepted_at is None
    # A file not tied to the requirement does not count; the requirement's own file does.
    services.case_material_add(actor=world.applicant, case_id=case.pk, requirement_id=None, filename="x", content=PDF)
    services.case_material_add(
        actor=world.applicant,
        case_id=case.pk,
        requirement_id=requirements["食品经营许可申请书"],
        filename="a.pdf",
        content=PDF,
    )
    with pytest.raises(ValidationFailed) as exc:
        services.case_accept(actor=world.reviewer, case_id=case.pk)
    assert "食品安全管理制度" in str(exc.value.message) and "食品经营许可申请书" not in str(exc.value.message)
    assert [m.name for m in selectors.case_missing_materials(case=case)] == ["食品安全管理制度"]
    attach_required(case)
    assert services.case_accept(actor=world.clerk, case_id=case.pk).state == CaseState.ACCEPTED


def test_the_supplement_route_then_acceptance(world):
    case = submit(world)
    services.case_request_supplement(
        actor=world.clerk, case_id=case.pk, items=[{"material": "个体工商户登记申请书", "problem": "未提交"}]
    )
    services.case_supplement_answer(actor=world.applicant, case_id=case.pk, note="")
    with pytest.raises(ValidationFailed):  # answered without the file: still not acceptable
        services.case_accept(actor=world.clerk, case_id=case.pk)
    attach_required(case)
    assert services.case_accept(actor=world.clerk, case_id=case.pk).state == CaseState.ACCEPTED


def test_after_the_five_days_the_law_accepts_without_the_check(world, at):
    at(2025, 9, 30, 16)
    case = submit(world)
    at(2025, 10, 15, 9)
    case = services.case_accept(actor=world.clerk, case_id=case.pk)
    assert case.state == CaseState.ACCEPTED and case.deemed_accepted


def test_intake_page_lists_missing_materials_and_prefills_the_supplement(world):
    item = two_material_item(world)
    case = submit(world, item=item)
    clerk = client_for(world.clerk)
    html = clerk.get(f"/workbench/cases/{case.pk}/").content.decode()
    missing = html[html.index('id="missing-materials"') :]
    assert "食品经营许可申请书" in missing[:400] and "食品安全管理制度" in missing[:400]
    textarea = re.search(r'<textarea id="id_items"[^>]*>([^<]*)</textarea>', html).group(1)
    assert textarea.split("\n")[:2] == ["食品经营许可申请书：未提交", "食品安全管理制度：未提交"]
    response = clerk.post(f"/workbench/cases/{case.pk}/accept/", {"version": case.version}, follow=True)
    assert "必需材料「食品经营许可申请书」、「食品安全管理制度」尚未提交" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    response = clerk.post(
        f"/workbench/cases/{case.pk}/supplement/", {"version": case.version, "items": textarea, "note": ""}
    )
    case.refresh_from_db()
    assert case.state == CaseState.SUPPLEMENT_REQUESTED
    assert [i["material"] for i in case.supplement.items] == ["食品经营许可申请书", "食品安全管理制度"]
    done = attach_required(submit(world))  # everything there: no warning, accepted on the spot
    html = clerk.get(f"/workbench/cases/{done.pk}/").content.decode()
    assert 'id="missing-materials"' not in html
    assert (
        "已受理"
        in clerk.post(f"/workbench/cases/{done.pk}/accept/", {"version": done.version}, follow=True).content.decode()
    )


# --- what a stale version reveals ------------------------------------------------------------


def clerk_at(world, username, department):
    clerk = make_staff(username, real_name=username)
    world.tree.grant(clerk, Role.WINDOW_CLERK, department)
    return clerk


def huqiu_item(world):
    """An item of 虎丘区市场监督管理局 (region 320505): not on the line of 吴中区 (320506)."""
    return publish_item(
        world.tree.root,
        implementation_code="SZ-HQ-SJJ-0001",
        department="SZ-HQ-SJJ",
        name="食品小作坊登记",
        aliases=[],
        keywords=[],
    )


def test_out_of_scope_case_is_not_found_whatever_the_version(world, client):
    wuzhong_clerk = clerk_at(world, "wz_clerk", world.tree.wuzhong)
    case = attach_required(submit(world, item=huqiu_item(world)))
    services.case_accept(actor=clerk_at(world, "hq_clerk1", world.tree.huqiu), case_id=case.pk)  # a 虎丘 window
    case.refresh_from_db()
    for version in (None, 1, case.version - 1, case.version, case.version + 1, 999):
        with pytest.raises(NotFound) as exc:
            services.case_refuse(actor=wuzhong_clerk, case_id=case.pk, reason="x", expected_version=version)
        assert case.number not in str(exc.value.message) and "已受理" not in str(exc.value.message)
    page = client_for(wuzhong_clerk).post(f"/workbench/cases/{case.pk}/refuse/", {"version": 1, "reason": "x"})
    assert page.status_code == 404
    for outsider in (world.police_reviewer, world.other_citizen):  # not clerks at all
        with pytest.raises(NotFound):
            services.case_claim(actor=outsider, case_id=case.pk, expected_version=1)
    from yiwang.identity.services import api_token_create

    token = api_token_create(actor=wuzhong_clerk, user=wuzhong_clerk, name="t")[1]
    response = client.post(
        f"/api/v1/cases/{case.pk}/accept",
        {"version": 1},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 404 and case.number not in response.content.decode()


def test_a_clerk_who_saw_it_at_the_front_office_is_told_who_moved_it_on(world, client):
    colleague = clerk_at(world, "hq_clerk2", world.tree.huqiu)  # same hall as world.clerk
    world.tree.grant(world.clerk, Role.WINDOW_CLERK, world.tree.huqiu)  # world.clerk works a 虎丘 window too
    case = attach_required(submit(world, item=huqiu_item(world)))
    seen = case.version
    services.case_accept(actor=colleague, case_id=case.pk, expected_version=seen)
    with pytest.raises(Conflict) as exc:
        services.case_refuse(actor=world.clerk, case_id=case.pk, reason="x", expected_version=seen)
    assert exc.value.code == "case_changed" and case.number in str(exc.value.message)
    assert "已受理" in str(exc.value.message)
    # The same on a page (the message, then the lists: the case is in the back office now) and by API.
    page = client_for(world.clerk).post(
        f"/workbench/cases/{case.pk}/refuse/", {"version": seen, "reason": "x"}, follow=True
    )
    assert page.status_code == 200 and "已被他人处理" in page.content.decode() and case.number in page.content.decode()
    assert page.redirect_chain[-1][0] == "/workbench/cases/"
    from yiwang.identity.services import api_token_create

    token = api_token_create(actor=world.clerk, user=world.clerk, name="t")[1]
    response = client.post(
        f"/api/v1/cases/{case.pk}/refuse",
        {"version": seen, "reason": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 409 and response.json()["code"] == "case_changed"  # … the API says why


def test_region_line_and_own_hall_both_count_as_having_seen_it(world):
    wuzhong_clerk = clerk_at(world, "wz_clerk", world.tree.wuzhong)
    wuzhong_colleague = clerk_at(world, "wz_clerk2", world.tree.wuzhong)
    city_colleague = clerk_at(world, "city_clerk2", world.tree.city)
    # A city department's online case waits at the city hall: its clerks saw it there, a
    # 吴中 clerk never did (it was never in his hall's queue), so he learns nothing of it.
    city_case = attach_required(submit(world))
    services.case_accept(actor=world.clerk, case_id=city_case.pk)
    with pytest.raises(Conflict):
        services.case_refuse(actor=city_colleague, case_id=city_case.pk, reason="x", expected_version=1)
    with pytest.raises(NotFound) as missing:
        services.case_refuse(actor=wuzhong_clerk, case_id=city_case.pk, reason="x", expected_version=1)
    assert city_case.number not in str(missing.value.message)
    # A 虎丘 case taken in at the 吴中 hall (跨区通办) and accepted there: the hall's clerks saw it.
    walk_in = submit(
        world, item=huqiu_item(world), actor=wuzhong_clerk, applicant=world.other_citizen, channel=Channel.WINDOW
    )
    attach_required(walk_in, actor=wuzhong_clerk)
    services.case_accept(actor=wuzhong_clerk, case_id=walk_in.pk)
    with pytest.raises(Conflict):
        services.case_refuse(actor=wuzhong_colleague, case_id=walk_in.pk, reason="x", expected_version=1)
    assert services.clerk_saw_at_front_office(actor=wuzhong_colleague, case=walk_in)
    # … but not the clerks of a third hall off the region line.
    other_region = make_staff("sx_clerk", real_name="sx")
    from yiwang.identity.models import Department
    from yiwang.identity.services import department_create

    xiangcheng = department_create(
        actor=world.tree.root,
        name="相城区人民政府",
        code="SZ-XC",
        level=Department.Level.COUNTY,
        kind=Department.Kind.GOVERNMENT,
        region_code="320507",
        parent=world.tree.city,
    )
    world.tree.grant(other_region, Role.WINDOW_CLERK, xiangcheng)
    with pytest.raises(NotFound):
        services.case_refuse(actor=other_region, case_id=walk_in.pk, reason="x", expected_version=1)
    assert not services.clerk_saw_at_front_office(actor=other_region, case=walk_in)


# --- the walk-in intake page keeps what was typed --------------------------------------------


def test_lookup_errors_name_the_field_and_keep_the_applicant_found_before(world):
    clerk = client_for(world.clerk)
    clerk.get("/workbench/cases/window/", {"id_number": world.applicant.id_number})
    page = clerk.get("/workbench/cases/window/", {"id_number": "32050519850102001"})  # 17 characters
    html = page.content.decode()
    assert "身份证号应为18位,当前为17位" in html and 'value="32050519850102001"' in html
    assert "未找到该身份证号的账号" not in html  # no registration offered for a mistyped number
    assert "张*" in html  # the applicant found before is still selected
    bad_check = world.applicant.id_number[:-1] + ("0" if world.applicant.id_number[-1] != "0" else "1")
    assert "校验位不正确" in clerk.get("/workbench/cases/window/", {"id_number": bad_check}).content.decode()
    # A valid number nobody has: register them; the previous applicant is no longer selected.
    new_number = make_id_number("320505", datetime.date(1990, 5, 6), 41)
    html = clerk.get("/workbench/cases/window/", {"id_number": new_number}).content.decode()
    assert "未找到该身份证号的账号" in html and "2. 选择事项" not in html


def test_register_errors_are_named_and_input_kept(world):
    clerk = client_for(world.clerk)
    id_number = make_id_number("320505", datetime.date(1990, 5, 6), 43)
    bad = clerk.post("/workbench/cases/window/register/", {"id_number": id_number, "real_name": "", "phone": "139"})
    html = bad.content.decode()
    assert bad.status_code == 422 and "请填写申请人姓名" in html and f'value="{id_number}"' in html
    taken = clerk.post(
        "/workbench/cases/window/register/",
        {"id_number": world.applicant.id_number, "real_name": "冒名", "phone": ""},
    )
    html = taken.content.decode()
    assert taken.status_code == 422 and "该身份证号已注册" in html and 'value="冒名"' in html


def test_walk_in_form_errors_keep_the_input_the_applicant_and_name_each_field(world):
    clerk = client_for(world.clerk)
    clerk.get("/workbench/cases/window/", {"id_number": world.applicant.id_number})
    code = world.market_item.implementation_code
    form = clerk.get(f"/workbench/cases/window/apply/{code}/").content.decode()
    token = re.search(r'name="applicant_token" value="([^"]+)"', form).group(1)
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', form).group(1)
    requirement = world.market_item.current_version.materials.get(name="个体工商户登记申请书")
    response = clerk.post(
        f"/workbench/cases/window/apply/{code}/",
        {
            "idempotency_key": key,
            "applicant_token": token,
            "f_business_name": "",
            f"material_{requirement.pk}": SimpleUploadedFile("扫描件.pdf", PDF, "application/pdf"),
            "material_other_name": "补充说明",
        },
    )
    html = response.content.decode()
    assert response.status_code == 422 and not Case.objects.exists()
    assert "请填写「个体工商户名称」" in html
    assert "张*" in html and f'value="{token}"' in html and f'value="{key}"' in html  # applicant and attempt kept
    assert "请重新选择文件（之前选择的「扫描件.pdf」尚未上传）" in html  # the file is named at its input
    assert f'id="id_material_{requirement.pk}_err"' in html and 'value="补充说明"' in html


def test_the_walk_in_form_files_for_the_applicant_it_was_opened_for(world):
    """Two applicants in two tabs: looking up the second must not re-target the first's form."""
    clerk = client_for(world.clerk)
    code = world.market_item.implementation_code
    clerk.get("/workbench/cases/window/", {"id_number": world.applicant.id_number})
    form = clerk.get(f"/workbench/cases/window/apply/{code}/").content.decode()
    token = re.search(r'name="applicant_token" value="([^"]+)"', form).group(1)
    clerk.get("/workbench/cases/window/", {"id_number": world.other_citizen.id_number})  # tab 2
    response = clerk.post(
        f"/workbench/cases/window/apply/{code}/",
        {"idempotency_key": "tab1", "applicant_token": token, "f_business_name": "张三小吃店"},
    )
    case = Case.objects.get()
    assert response.status_code == 302 and case.applicant == world.applicant and case.channel == Channel.WINDOW
    # tab 2's applicant is still selected for the next form
    assert "李*" in clerk.get("/workbench/cases/window/").content.decode()
    forged = clerk.post(
        f"/workbench/cases/window/apply/{code}/",
        {"idempotency_key": "tab3", "applicant_token": "forged", "f_business_name": "李四小店"},
    )
    assert forged.status_code == 422 and "未确定申请人" in forged.content.decode()  # never the session's applicant
    assert Case.objects.count() == 1


def test_a_walk_in_form_without_any_applicant_keeps_the_input(world):
    clerk = client_for(world.clerk)
    code = world.market_item.implementation_code
    response = clerk.post(
        f"/workbench/cases/window/apply/{code}/", {"idempotency_key": "k", "f_business_name": "无主小店"}
    )
    html = response.content.decode()
    assert response.status_code == 422 and not Case.objects.exists()
    assert "未确定申请人" in html and 'value="无主小店"' in html
    # a citizen without real-name data is refused with the field named, input kept
    nameless = make_citizen("wangwu", "", 45)
    clerk.get("/workbench/cases/window/", {"id_number": nameless.id_number})
    response = clerk.post(
        f"/workbench/cases/window/apply/{code}/", {"idempotency_key": "k2", "f_business_name": "某店"}
    )
    html = response.content.decode()
    assert response.status_code == 422 and "申请人实名信息不完整" in html and 'value="某店"' in html
