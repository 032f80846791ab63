"""一窗受理 of a life event (一件事) and the hall chooser of a clerk with several windows.

Through the services (the hall passed to every case of a bundle; the orphan purge of bundle
files), the workbench pages (Django test client) and the API (``POST
/api/v1/cases/bundles/with-materials``).
"""

import datetime
import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from yiwang.cases import selectors, services
from yiwang.cases.models import Case, CaseBundle, CaseMaterial, Channel
from yiwang.cases.tests.bundles import APPLICATION, FORM, HOUSEHOLD, PDF, PNG, build_bundle_world
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.errors import ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity.services import api_token_create

WINDOW = "/workbench/cases/window/"
API = "/api/v1/cases/bundles/with-materials"


@pytest.fixture
def bw(db):
    return build_bundle_world()


def media_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def window_submit(bw, **extra):
    world = bw.world
    return services.case_bundle_submit(
        actor=world.clerk,
        applicant=world.other_citizen,
        channel=Channel.WINDOW,
        life_event=bw.life_event,
        form_data=FORM,
        materials={APPLICATION: ("申请书.pdf", PDF)},
        **{"idempotency_key": "w-1", **extra},
    )


# --- services ----------------------------------------------------------------------------------


def test_window_bundle_cases_wait_at_the_clerk_s_hall(bw):
    """Every case of a walk-in bundle records the hall that took it in and waits in that hall's
    queue; by default the clerk's first window in tree order (the city hall, above 虎丘区)."""
    world, tree = bw.world, bw.world.tree
    assert [h.pk for h in selectors.window_halls(actor=world.clerk)] == [tree.city.pk, tree.huqiu.pk]
    bundle, created = window_submit(bw, intake_department=tree.huqiu)
    assert created
    cases = list(bundle.cases.all())
    assert len(cases) == 3
    assert {(c.intake_department_id, c.intake_region) for c in cases} == {(tree.huqiu.pk, "320505")}
    audit = AuditEvent.objects.get(action="case_bundle.submit")
    assert audit.changes["intake_department"] == tree.huqiu.pk
    queued = set(selectors.case_intake_queue(actor=world.clerk, stage="intake").values_list("pk", flat=True))
    assert {c.pk for c in cases} <= queued

    default, _created = window_submit(bw, idempotency_key="w-2")
    assert {c.intake_department_id for c in default.cases.all()} == {tree.city.pk}
    assert {c.intake_region for c in default.cases.all()} == {"320500"}


def test_window_bundle_at_a_hall_the_clerk_does_not_work_at_is_refused(bw):
    before = (CaseBundle.objects.count(), Case.objects.count(), len(media_files()))
    with pytest.raises(ValidationFailed) as caught:
        window_submit(bw, intake_department=bw.world.tree.wuzhong)
    assert "intake_department" in caught.value.fields
    assert (CaseBundle.objects.count(), Case.objects.count(), len(media_files())) == before


def _age(name: str, hours: int) -> None:
    path = Path(settings.MEDIA_ROOT) / name
    moment = (timezone.now() - datetime.timedelta(hours=hours)).timestamp()
    os.utime(path, (moment, moment))


def test_orphan_purge_sweeps_bundle_files_with_the_same_grace(bw):
    bundle, _created = window_submit(bw)
    storage = CaseMaterial._meta.get_field("file").storage
    kept = CaseMaterial.objects.filter(case__bundle=bundle).values_list("file", flat=True).first()
    assert kept.startswith(f"cases/bundles/{bundle.pk}/")
    old = storage.save(f"cases/bundles/{bundle.pk}/{'a' * 32}.pdf", ContentFile(PDF))
    gone_bundle = storage.save(f"cases/bundles/{bundle.pk + 1000}/{'b' * 32}.png", ContentFile(PNG))
    young = storage.save(f"cases/bundles/{bundle.pk}/{'c' * 32}.pdf", ContentFile(PDF))
    for name in (kept, old, gone_bundle):
        _age(name, 7)

    result = services.case_material_orphans_purge()
    assert sorted(result["removed"]) == sorted([old, gone_bundle])
    assert result["scanned"] == 4
    assert storage.exists(kept) and storage.exists(young)
    assert not storage.exists(old) and not storage.exists(gone_bundle)
    audit = AuditEvent.objects.get(action="case.material_orphans_purge")
    assert set(audit.changes["files"]) == {old, gone_bundle}
    # The file shared by the bundle's cases is still served to each of them.
    assert CaseMaterial.objects.filter(file=kept).count() == 2


# --- pages -------------------------------------------------------------------------------------


def _material_index(bw, name: str) -> str:
    guide = catalog_selectors.life_event_guide(version=bw.life_event.current_version)
    from yiwang.cases.bundle_views import material_key

    return material_key(next(m for m in guide["materials"] if m["name"] == name))


def _find(client, user) -> None:
    response = client.get(WINDOW, {"id_number": user.id_number})
    assert response.status_code == 302


def _token(html: str) -> str:
    marker = 'name="applicant_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_clerk_submits_a_life_event_for_a_walk_in_applicant(client, bw):
    world, tree = bw.world, bw.world.tree
    client.force_login(world.clerk)
    _find(client, world.other_citizen)
    page = client.get(WINDOW).content.decode()
    assert "开小吃店一件事" in page and "/workbench/cases/window/bundles/apply/LE-KXCD/" in page

    url = "/workbench/cases/window/bundles/apply/LE-KXCD/"
    form = client.get(url)
    html = form.content.decode()
    assert form.status_code == 200 and "代为申报" in html and html.count('name="f_business_name"') == 1
    assert 'name="intake_department"' in html  # two halls: the chooser
    token = _token(html)
    index = _material_index(bw, APPLICATION)
    post = {
        "idempotency_key": "page-w-1",
        "applicant_token": token,
        "intake_department": str(tree.huqiu.pk),
        "f_business_name": "李四小吃店",
        "f_move_reason": "经营需要",
        "f_district": "虎丘区",
    }
    bad = client.post(url, {**post, f"material_{index}": SimpleUploadedFile("a.pdf", b"not a pdf")})
    text = bad.content.decode()
    assert bad.status_code == 422 and f"材料「{APPLICATION}」" in text and "李四小吃店" in text
    assert "请重新选择文件" in text and _token(text) == token
    missing = client.post(url, {**post, "f_move_reason": ""})
    assert missing.status_code == 422 and "请填写「迁移原因」" in missing.content.decode()
    assert CaseBundle.objects.count() == 0 and Case.objects.count() == 0 and not media_files()

    # Meanwhile the clerk looks up the next applicant: the form on screen stays bound to 李四.
    _find(client, world.applicant)
    done = client.post(url, {**post, f"material_{index}": SimpleUploadedFile("a.pdf", PDF)})
    bundle = CaseBundle.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/workbench/cases/window/bundles/{bundle.pk}/"
    assert bundle.applicant == world.other_citizen and bundle.channel == Channel.WINDOW
    assert bundle.received_by == world.clerk
    assert {c.intake_department_id for c in bundle.cases.all()} == {tree.huqiu.pk}
    assert CaseMaterial.objects.filter(case__bundle=bundle, name=APPLICATION).count() == 2
    assert len(media_files()) == 1
    again = client.post(url, {**post, f"material_{index}": SimpleUploadedFile("a.pdf", PDF)})
    assert again.status_code == 302 and CaseBundle.objects.count() == 1 and Case.objects.count() == 3

    detail = client.get(done["Location"]).content.decode()
    assert bundle.number in detail and "/workbench/cases/" in detail and "李*" in detail
    assert client.session.get("cases_window_hall") == tree.huqiu.pk  # the choice is remembered


def test_window_bundle_page_errors_for_the_applicant_and_the_hall(client, bw):
    world, tree = bw.world, bw.world.tree
    client.force_login(world.clerk)
    url = "/workbench/cases/window/bundles/apply/LE-KXCD/"
    assert client.get(url)["Location"] == WINDOW  # nobody selected yet
    post = {"idempotency_key": "k", "f_business_name": "x", "f_move_reason": "y", "f_district": "虎丘区"}
    forged = client.post(url, {**post, "applicant_token": "forged"})
    assert forged.status_code == 422 and "未确定申请人" in forged.content.decode()
    _find(client, world.other_citizen)
    token = _token(client.get(url).content.decode())
    wrong_hall = client.post(url, {**post, "applicant_token": token, "intake_department": str(tree.wuzhong.pk)})
    text = wrong_hall.content.decode()
    assert (
        wrong_hall.status_code == 422
        and "请选择您所在的政务服务大厅" in text
        and 'id="id_intake_department_err"' in text
    )
    assert 'value="x"' in text
    assert CaseBundle.objects.count() == 0 and Case.objects.count() == 0


def test_window_bundle_pages_are_404_for_anyone_but_a_clerk(client, bw):
    world = bw.world
    bundle, _created = window_submit(bw)
    for user in (world.reviewer, world.applicant, world.other_citizen):
        client.force_login(user)
        assert client.get("/workbench/cases/window/bundles/apply/LE-KXCD/").status_code == 404
        assert client.post("/workbench/cases/window/hall/", {"intake_department": "1"}).status_code == 404
    for user in (world.reviewer, world.police_reviewer):
        client.force_login(user)
        assert client.get(f"/workbench/cases/window/bundles/{bundle.pk}/").status_code == 404


def test_hall_chooser_only_for_several_halls_and_used_by_item_forms(client, bw):
    world, tree = bw.world, bw.world.tree
    client.force_login(world.clerk)
    _find(client, world.other_citizen)
    page = client.get(WINDOW).content.decode()
    assert "切换大厅" in page and "虎丘区人民政府" in page
    forged = client.post("/workbench/cases/window/hall/", {"intake_department": str(tree.wuzhong.pk)})
    assert forged.status_code == 422 and "请选择您所在的政务服务大厅" in forged.content.decode()
    assert "cases_window_hall" not in client.session
    chosen = client.post("/workbench/cases/window/hall/", {"intake_department": str(tree.huqiu.pk)})
    assert chosen.status_code == 302 and client.session["cases_window_hall"] == tree.huqiu.pk

    url = "/workbench/cases/window/apply/SZ-SJJ-0001/"
    html = client.get(url).content.decode()
    assert f'<option value="{tree.huqiu.pk}" selected>' in html
    post = {"idempotency_key": "one-1", "applicant_token": _token(html), "f_business_name": "李四小吃店"}
    wrong = client.post(url, {**post, "intake_department": str(tree.wuzhong.pk)})
    assert wrong.status_code == 422 and "请选择您所在的政务服务大厅" in wrong.content.decode()
    assert Case.objects.count() == 0
    done = client.post(url, post)  # no hall posted: the one chosen in the session
    case = Case.objects.get()
    assert done.status_code == 302 and case.intake_department_id == tree.huqiu.pk and case.intake_region == "320505"


def test_a_clerk_with_one_hall_sees_no_chooser(client, db):
    from yiwang.cases.tests.factories import build_world

    world = build_world()
    client.force_login(world.clerk)
    _find(client, world.other_citizen)
    assert "切换大厅" not in client.get(WINDOW).content.decode()
    html = client.get("/workbench/cases/window/apply/SZ-SJJ-0001/").content.decode()
    assert 'name="intake_department"' not in html


# --- API ---------------------------------------------------------------------------------------


def auth(user) -> dict:
    _token, raw = api_token_create(actor=user, user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_api_with_materials_multipart(client, bw):
    world = bw.world
    application = json.dumps({"life_event": "LE-KXCD", "form_data": FORM})
    headers = {**auth(world.applicant), "HTTP_IDEMPOTENCY_KEY": "mp-1"}

    def post(files, names, body=application, **extra):
        return client.post(API, {"application": body, "files": files, "material_names": names}, **{**headers, **extra})

    bad = post(
        [SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("h.gif", b"GIF89a nope")], [APPLICATION, HOUSEHOLD]
    )
    assert bad.status_code == 422 and f"materials.{HOUSEHOLD}" in bad.json()["fields"]
    unknown = post([SimpleUploadedFile("a.pdf", PDF)], ["营业执照"])
    assert unknown.status_code == 422 and "materials.营业执照" in unknown.json()["fields"]
    mismatch = post([SimpleUploadedFile("a.pdf", PDF)], [])
    assert mismatch.status_code == 422 and "material_names" in mismatch.json()["fields"]
    twice = post([SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("b.pdf", PDF)], [APPLICATION, APPLICATION])
    assert twice.status_code == 422 and f"materials.{APPLICATION}" in twice.json()["fields"]
    not_json = post([], [], body="{")
    assert not_json.status_code == 422 and "application" in not_json.json()["fields"]
    assert CaseBundle.objects.count() == 0 and Case.objects.count() == 0 and not media_files()

    files = [SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("h.png", PNG)]
    done = post(files, [APPLICATION, HOUSEHOLD])
    assert done.status_code == 201, done.json()
    data = done.json()
    assert len(data["cases"]) == 3 and data["channel"] == "online"
    assert CaseMaterial.objects.filter(name=APPLICATION).count() == 2
    assert CaseMaterial.objects.filter(name=HOUSEHOLD).count() == 1 and len(media_files()) == 2
    again = post([SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("h.png", PNG)], [APPLICATION, HOUSEHOLD])
    assert again.status_code == 200 and again.json()["id"] == data["id"] and len(media_files()) == 2


def test_api_with_materials_at_a_window_hall(client, bw):
    world, tree = bw.world, bw.world.tree
    body = {
        "life_event": "LE-KXCD",
        "form_data": FORM,
        "channel": "window",
        "applicant_id_number": world.other_citizen.id_number,
        "intake_department_id": tree.huqiu.pk,
    }
    headers = {**auth(world.clerk), "HTTP_IDEMPOTENCY_KEY": "mp-w"}
    missing_hall = client.post(API, {"application": json.dumps({**body, "intake_department_id": 987654})}, **headers)
    assert missing_hall.status_code == 422 and "intake_department_id" in missing_hall.json()["fields"]
    foreign = client.post(
        API, {"application": json.dumps({**body, "intake_department_id": tree.wuzhong.pk})}, **headers
    )
    assert foreign.status_code == 422 and "intake_department" in foreign.json()["fields"]
    response = client.post(
        API,
        {"application": json.dumps(body), "files": [SimpleUploadedFile("a.pdf", PDF)], "material_names": [APPLICATION]},
        **headers,
    )
    assert response.status_code == 201, response.json()
    assert {c["intake_department_id"] for c in response.json()["cases"]} == {tree.huqiu.pk}
    bundle = CaseBundle.objects.get()
    assert bundle.applicant == world.other_citizen and bundle.received_by == world.clerk
    citizen = client.post(API, {"application": json.dumps(body)}, **auth(world.applicant))
    assert citizen.status_code == 403
