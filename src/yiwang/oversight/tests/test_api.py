import json

import pytest

from yiwang.identity.services import api_token_create
from yiwang.oversight.models import KeyTask, ProgressReport
from yiwang.oversight.tests.factories import PDF, PNG, days, make_task

pytestmark = pytest.mark.django_db
BASE = "/api/v1/oversight"


def _bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, user=user, name='t')[1]}"}


def _post(client, path, body, user):
    return client.post(BASE + path, json.dumps(body), content_type="application/json", **_bearer(user))


def test_instruction_to_completed_task_over_the_api(client, world):
    created = _post(
        client,
        "/tasks",
        {
            "title": "老旧小区加装电梯",
            "source_kind": "instruction",
            "source_ref": "市领导批示〔2026〕7号",
            "lead_department": world.lead.code,
            "co_departments": [str(world.co.pk)],
            "deadline": days(60).isoformat(),
            "milestones": [{"title": "完成摸底", "due_date": days(10).isoformat(), "evidence": ["摸底清单"]}],
        },
        world.office,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["light"] == "green" and body["co_departments"] == [world.co.code]
    task_id, milestone_id = body["id"], body["milestones"][0]["id"]
    added = _post(
        client, f"/tasks/{task_id}/milestones", {"title": "开工", "due_date": days(50).isoformat()}, world.office
    )
    assert added.status_code == 201 and added.json()["light"] == "green"

    report = client.post(
        f"{BASE}/tasks/{task_id}/reports",
        {
            "summary": "已完成摸底",
            "milestone_id": milestone_id,
            "files": [_file("list.pdf", PDF)],
            "evidence": ["摸底清单"],
        },
        **_bearer(world.lead_reviewer),
    )
    assert report.status_code == 201, report.content
    assert report.json()["attachments"][0]["evidence"] == "摸底清单"
    reviewed = _post(client, f"/reports/{report.json()['id']}/review", {"accept": True, "score": 88}, world.office)
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "accepted"
    urged = _post(client, f"/tasks/{task_id}/urge", {"note": "加快进度"}, world.office)
    assert urged.json()["urge_count"] == 1
    rated = _post(client, f"/tasks/{task_id}/rate", {"score": 90}, world.office)
    assert rated.json()["score"] == 90
    detail = client.get(f"{BASE}/tasks/{task_id}", **_bearer(world.co_reviewer)).json()
    assert [m["status"] for m in detail["milestones"]] == ["accepted", "open"]
    listed = client.get(f"{BASE}/tasks?light=green", **_bearer(world.lead_head)).json()
    assert [t["id"] for t in listed] == [task_id]
    counts = client.get(f"{BASE}/lights", **_bearer(world.lead_head)).json()
    assert counts == {"green": 1, "yellow": 0, "red": 0, "done": 0}


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_errors_are_code_message_fields(client, world):
    late = _post(
        client,
        "/tasks",
        {
            "title": "t",
            "source_kind": "meeting",
            "lead_department": world.lead.code,
            "deadline": days(20).isoformat(),
            "milestones": [{"title": "晚了", "due_date": days(21).isoformat()}],
        },
        world.office,
    )
    assert late.status_code == 422
    assert late.json()["code"] == "milestone_after_deadline"
    assert set(late.json()["fields"]) == {"milestones.0.due_date"}
    assert not KeyTask.objects.exists()
    forbidden = _post(
        client,
        "/tasks",
        {"title": "t", "source_kind": "meeting", "lead_department": world.lead.code, "deadline": days(20).isoformat()},
        world.lead_head,
    )
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "oversight_office_only"


def test_report_on_someone_elses_task_is_404_and_missing_evidence_422(client, world):
    task = make_task(world)
    milestone = task.milestones.last()
    foreign = client.post(f"{BASE}/tasks/{task.pk}/reports", {"summary": "x"}, **_bearer(world.other_reviewer))
    assert foreign.status_code == 404 and foreign.json()["code"] == "task_not_found"
    missing = client.post(
        f"{BASE}/tasks/{task.pk}/reports",
        {"summary": "开工", "milestone_id": milestone.pk, "files": [_file("a.png", PNG)], "evidence": ["现场照片"]},
        **_bearer(world.lead_reviewer),
    )
    assert missing.status_code == 422
    assert missing.json()["code"] == "evidence_missing" and "evidence_0" in missing.json()["fields"]
    assert not ProgressReport.objects.exists()
    assert client.get(f"{BASE}/tasks/{task.pk}", **_bearer(world.citizen)).status_code == 404
    assert client.get(f"{BASE}/tasks", **_bearer(world.citizen)).json() == []
    assert client.get(f"{BASE}/tasks").status_code == 401
