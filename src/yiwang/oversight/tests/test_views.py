import pytest
from django.urls import reverse

from yiwang.oversight.models import KeyTask, ProgressReport
from yiwang.oversight.tests.factories import PDF, PNG, days, make_task

pytestmark = pytest.mark.django_db


def test_list_shows_lights_and_filters_within_scope(client, world):
    make_task(world, title="城东改造")
    from yiwang.oversight import services

    services.key_task_create(
        actor=world.office, title="水务专项", source_kind="project", lead_department=world.other, deadline=days(5)
    )
    client.force_login(world.lead_reviewer)
    page = client.get(reverse("oversight:list"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "城东改造" in text and "水务专项" not in text and "light-green" in text
    client.force_login(world.office)
    text = client.get(reverse("oversight:list") + "?light=yellow").content.decode()
    assert "水务专项" in text and "城东改造" not in text
    partial = client.get(reverse("oversight:list") + "?q=城东", HTTP_HX_REQUEST="true")
    assert "城东改造" in partial.content.decode() and "<html" not in partial.content.decode()


def test_outsiders_get_404(client, world):
    task = make_task(world)
    for user in (world.other_reviewer, world.citizen):
        client.force_login(user)
        assert client.get(reverse("oversight:detail", args=[task.pk])).status_code == 404
        assert client.get(reverse("oversight:report", args=[task.pk])).status_code == 404
    client.force_login(world.citizen)
    assert client.get(reverse("oversight:list")).status_code == 404
    client.force_login(world.lead_head)
    assert client.get(reverse("oversight:new")).status_code == 404


def test_detail_has_the_svg_timeline_and_office_actions(client, world):
    task = make_task(world)
    client.force_login(world.office)
    text = client.get(reverse("oversight:detail", args=[task.pk])).content.decode()
    assert "<svg" in text and "完成可行性研究" in text and reverse("oversight:urge", args=[task.pk]) in text
    client.force_login(world.lead_clerk)
    text = client.get(reverse("oversight:detail", args=[task.pk])).content.decode()
    assert (
        reverse("oversight:urge", args=[task.pk]) not in text
        and reverse("oversight:report", args=[task.pk]) not in text
    )


def test_office_creates_a_task_on_the_page_with_field_errors(client, world):
    client.force_login(world.office)
    data = {
        "title": "营商环境提升",
        "source_kind": "meeting",
        "source_ref": "市政府常务会议纪要〔2026〕5号",
        "lead_department": str(world.lead.pk),
        "deadline": days(30).isoformat(),
        "m_title": ["出台方案", ""],
        "m_due_date": [days(31).isoformat(), ""],
        "m_evidence": ["方案文本", ""],
    }
    page = client.post(reverse("oversight:new"), data)
    assert page.status_code == 422 and "晚于任务的办结时限" in page.content.decode()
    assert not KeyTask.objects.exists()
    data["m_due_date"] = [days(10).isoformat(), ""]
    done = client.post(reverse("oversight:new"), data)
    task = KeyTask.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("oversight:detail", args=[task.pk])
    assert task.milestones.get().evidence == ["方案文本"]


def test_report_form_asks_for_each_evidence_then_review_and_urge(client, world):
    task = make_task(world)
    milestone = task.milestones.last()
    url = reverse("oversight:report", args=[task.pk])
    client.force_login(world.lead_reviewer)
    form = client.get(url + f"?milestone_id={milestone.pk}").content.decode()
    assert "开工许可" in form and 'name="evidence_1"' in form
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = client.post(
        url, {"milestone_id": milestone.pk, "summary": "开工", "evidence_0": SimpleUploadedFile("a.pdf", PDF)}
    )
    assert bad.status_code == 422 and "缺少佐证材料「现场照片」" in bad.content.decode()
    assert not ProgressReport.objects.exists()
    ok = client.post(
        url,
        {
            "milestone_id": milestone.pk,
            "summary": "开工",
            "evidence_0": SimpleUploadedFile("a.pdf", PDF),
            "evidence_1": SimpleUploadedFile("b.png", PNG),
        },
    )
    assert ok.status_code == 302
    report = ProgressReport.objects.get()
    attachment = report.attachments.first()
    assert client.get(reverse("oversight:attachment", args=[attachment.pk])).status_code == 200
    client.force_login(world.other_reviewer)
    assert client.get(reverse("oversight:attachment", args=[attachment.pk])).status_code == 404
    client.force_login(world.office)
    returned = client.post(reverse("oversight:review", args=[report.pk]), {"decision": "return", "note": ""})
    assert returned.status_code == 422 and "退回须写明理由" in returned.content.decode()
    accepted = client.post(reverse("oversight:review", args=[report.pk]), {"decision": "accept", "score": "80"})
    assert accepted.status_code == 302
    assert client.post(reverse("oversight:urge", args=[task.pk]), {"note": "抓紧"}).status_code == 302
    assert client.post(reverse("oversight:rate", args=[task.pk]), {"score": "77"}).status_code == 302
    task.refresh_from_db()
    assert task.urge_count == 1 and task.score == 77


def test_ranking_page_and_excel(client, world):
    make_task(world)
    client.force_login(world.leader)
    page = client.get(reverse("oversight:ranking"))
    assert page.status_code == 200 and world.lead.name in page.content.decode()
    sheet = client.get(reverse("oversight:ranking_xlsx"))
    assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
    import io

    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(sheet.content)).active.values)
    assert rows[0][1] == "牵头部门" and rows[1][1] == world.lead.name


def test_workbench_shows_the_tile_to_those_with_tasks(client, world):
    make_task(world)
    tile = reverse("oversight:list")
    for user, shown in ((world.office, True), (world.leader, True), (world.lead_clerk, True), (world.loner, False)):
        client.force_login(user)
        assert (tile in client.get(reverse("workbench:home")).content.decode()) is shown, user
