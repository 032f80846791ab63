import pytest
from django.core.files.storage import default_storage

from yiwang.core.audit import verify_chain
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.messaging.models import Message
from yiwang.oversight import selectors, services
from yiwang.oversight.models import KeyTask, Milestone, ProgressReport, ReportAttachment, TaskEvent
from yiwang.oversight.tests.factories import PDF, PNG, days, make_task

pytestmark = pytest.mark.django_db

EvidenceFile = services.EvidenceFile


def test_office_creates_a_task_from_an_instruction(world):
    task = make_task(world)
    assert task.number.startswith("DB") and task.status == KeyTask.Status.ACTIVE
    assert list(task.milestones.values_list("title", flat=True)) == ["完成可行性研究", "开工建设"]
    assert task.milestones.last().evidence == ["开工许可", "现场照片"]
    assert list(task.co_departments.all()) == [world.co]
    assert task.events.filter(kind=TaskEvent.Kind.CREATED).exists()
    assert AuditEvent.objects.filter(action="oversight.task_create", object_id=str(task.pk)).exists()
    # the lead department's reporters and the co-department's head are told
    assert Message.objects.filter(recipient=world.lead_reviewer, template_code="oversight.assigned").exists()
    assert verify_chain() is None


def test_only_the_office_creates_tasks(world):
    with pytest.raises(Forbidden):
        services.key_task_create(
            actor=world.lead_head,
            title="x",
            source_kind="project",
            lead_department=world.lead,
            deadline=days(10),
        )
    assert not KeyTask.objects.exists()


def test_a_milestone_after_the_deadline_is_refused_and_nothing_is_saved(world):
    with pytest.raises(ValidationFailed) as caught:
        make_task(
            world,
            deadline_in=30,
            milestones=[
                services.MilestoneSpec("第一阶段", days(10), []),
                services.MilestoneSpec("第二阶段", days(31), []),
            ],
        )
    assert caught.value.code == "milestone_after_deadline"
    assert "milestones.1.due_date" in caught.value.fields
    assert not KeyTask.objects.exists() and not Milestone.objects.exists()
    task = make_task(world, deadline_in=30, milestones=[])
    with pytest.raises(ValidationFailed) as caught:
        services.milestone_add(actor=world.office, task=task, title="追加", due_date=days(40))
    assert "due_date" in caught.value.fields
    assert not task.milestones.exists()


def test_bad_task_input_names_each_field(world):
    with pytest.raises(ValidationFailed) as caught:
        services.key_task_create(
            actor=world.office, title="", source_kind="rumour", lead_department=world.lead, deadline="明年"
        )
    assert "title" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        services.key_task_create(
            actor=world.office, title="t", source_kind="rumour", lead_department=world.lead, deadline=days(3)
        )
    assert "source_kind" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        services.key_task_create(
            actor=world.office, title="t", source_kind="project", lead_department="NOPE", deadline=days(3)
        )
    assert caught.value.code == "department_unknown"


def test_report_with_every_evidence_is_stored_by_digest(world):
    task = make_task(world)
    milestone = task.milestones.last()
    report = services.report_submit(
        actor=world.lead_reviewer,
        task=task,
        milestone_id=milestone.pk,
        summary="已取得施工许可,现场已开工。",
        files=[EvidenceFile("开工许可", "许可.pdf", PDF), EvidenceFile("现场照片", "photo.png", PNG)],
    )
    assert report.department == world.lead
    attachments = list(report.attachments.all())
    assert [a.evidence for a in attachments] == ["开工许可", "现场照片"]
    assert attachments[0].content_type == "application/pdf" and attachments[0].file.name.endswith(".pdf")
    assert "许可" not in attachments[0].file.name  # never the uploader's file name
    assert default_storage.exists(attachments[1].file.name)
    milestone.refresh_from_db()
    assert milestone.status == Milestone.Status.SUBMITTED


def test_co_department_reports_in_its_own_name(world):
    task = make_task(world)
    report = services.report_submit(actor=world.co_reviewer, task=task, summary="配合完成征迁摸底。")
    assert report.department == world.co


def test_a_report_missing_an_evidence_file_is_refused_and_nothing_is_kept(world):
    task = make_task(world)
    milestone = task.milestones.last()
    with pytest.raises(ValidationFailed) as caught:
        services.report_submit(
            actor=world.lead_reviewer,
            task=task,
            milestone_id=milestone.pk,
            summary="已开工",
            files=[EvidenceFile("开工许可", "a.pdf", PDF)],
        )
    assert caught.value.code == "evidence_missing"
    assert "现场照片" in caught.value.fields["evidence_1"][0]
    assert not ProgressReport.objects.exists() and not ReportAttachment.objects.exists()
    with pytest.raises(ValidationFailed) as caught:
        services.report_submit(
            actor=world.lead_reviewer,
            task=task,
            milestone_id=milestone.pk,
            summary="已开工",
            files=[EvidenceFile("开工许可", "a.pdf", b"MZ not a pdf"), EvidenceFile("现场照片", "p.png", PNG)],
        )
    assert "evidence_0" in caught.value.fields
    assert not ReportAttachment.objects.exists()


def test_files_written_before_a_failure_are_removed(world, monkeypatch):
    task = make_task(world)
    milestone = task.milestones.last()

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(services, "_audit", broken)
    with pytest.raises(RuntimeError):
        services.report_submit(
            actor=world.lead_reviewer,
            task=task,
            milestone_id=milestone.pk,
            summary="已开工",
            files=[EvidenceFile("开工许可", "a.pdf", PDF), EvidenceFile("现场照片", "p.png", PNG)],
        )
    assert not ReportAttachment.objects.exists()
    folder = f"oversight/{task.pk}"
    assert not default_storage.exists(folder) or default_storage.listdir(folder) == ([], [])


def test_a_report_on_someone_elses_task_is_not_found(world):
    task = make_task(world)
    with pytest.raises(NotFound):
        services.report_submit(actor=world.other_reviewer, task=task, summary="不是我的任务")
    with pytest.raises(Forbidden):  # sees the task, but a window clerk does not report
        services.report_submit(actor=world.lead_clerk, task=task, summary="x")
    assert not ProgressReport.objects.exists()


def test_review_return_needs_a_reason_and_reopens_the_milestone(world):
    task = make_task(world)
    milestone = task.milestones.first()
    report = services.report_submit(
        actor=world.lead_reviewer,
        task=task,
        milestone_id=milestone.pk,
        summary="可研完成",
        files=[EvidenceFile("可研报告", "k.pdf", PDF)],
    )
    with pytest.raises(ValidationFailed) as caught:
        services.report_review(actor=world.office, report=report, accept=False)
    assert "note" in caught.value.fields
    with pytest.raises(Forbidden):
        services.report_review(actor=world.lead_head, report=report, accept=True)
    services.report_review(actor=world.office, report=report, accept=False, note="可研报告缺少专家评审意见")
    milestone.refresh_from_db()
    report.refresh_from_db()
    assert milestone.status == Milestone.Status.OPEN and report.status == ProgressReport.Status.RETURNED
    assert Message.objects.filter(recipient=world.lead_reviewer, template_code="oversight.report_returned").exists()
    with pytest.raises(Conflict):
        services.report_review(actor=world.office, report=report, accept=True)


def test_accepting_the_last_milestone_completes_the_task(world):
    task = make_task(world)
    first, last = task.milestones.all()
    evidence = {first.pk: [EvidenceFile("可研报告", "k.pdf", PDF)]}
    evidence[last.pk] = [EvidenceFile("开工许可", "a.pdf", PDF), EvidenceFile("现场照片", "p.png", PNG)]
    for milestone in (first, last):
        files = evidence[milestone.pk]
        report = services.report_submit(
            actor=world.lead_reviewer, task=task, milestone_id=milestone.pk, summary="完成", files=files
        )
        services.report_review(actor=world.office, report=report, accept=True, score=90)
    task.refresh_from_db()
    assert task.status == KeyTask.Status.COMPLETED and task.completed_at is not None
    assert set(task.milestones.values_list("score", flat=True)) == {90}
    assert selectors.task_get(actor=world.office, id=task.pk).light == "done"
    with pytest.raises(Conflict):
        services.report_submit(actor=world.lead_reviewer, task=task, summary="再报")


def test_urge_messages_the_lead_department_and_counts(world):
    task = make_task(world)
    services.key_task_urge(actor=world.office, task=task, note="请本周内报送进展")
    services.key_task_urge(actor=world.office, task=task)
    task.refresh_from_db()
    assert task.urge_count == 2
    urged = Message.objects.filter(template_code="oversight.urged", channel="in_app")
    assert set(urged.values_list("recipient__username", flat=True)) >= {"lead_reviewer", "lead_head"}
    assert urged.filter(recipient=world.lead_head).count() == 2
    assert task.events.filter(kind=TaskEvent.Kind.URGED).count() == 2
    with pytest.raises(Forbidden):
        services.key_task_urge(actor=world.lead_reviewer, task=task)


def test_rating_is_checked_and_audited(world):
    task = make_task(world)
    with pytest.raises(ValidationFailed):
        services.key_task_rate(actor=world.office, task=task, score=101)
    with pytest.raises(ValidationFailed):
        services.key_task_rate(actor=world.office, task=task, score="优")
    services.key_task_rate(actor=world.office, task=task, score=85, note="推进有力")
    task.refresh_from_db()
    assert task.score == 85
    assert AuditEvent.objects.filter(action="oversight.task_rate").count() == 1


def test_a_leaders_instruction_goes_yellow_red_is_urged_and_completed(world):
    """The issue's "done means": instruction → task → yellow → red on the calendar → urged → completed."""
    import datetime

    task = make_task(world, milestones=[services.MilestoneSpec("完成整治", days(15), ["整治报告"])])
    due = task.milestones.get().due_date

    def light(today):
        return selectors.task_list(actor=world.leader, today=today).get(pk=task.pk).light

    assert light(due - datetime.timedelta(days=14)) == "green"
    assert light(due) == "yellow"
    assert light(due + datetime.timedelta(days=1)) == "red"
    assert services.oversight_sweep(today=due + datetime.timedelta(days=1))["escalated"] == 1
    assert Message.objects.filter(recipient=world.leader, template_code="oversight.escalated").exists()
    services.key_task_urge(actor=world.office, task=task, note="已超期,请立即报送")
    report = services.report_submit(
        actor=world.lead_head,
        task=task,
        milestone_id=task.milestones.get().pk,
        summary="整治完成",
        files=[EvidenceFile("整治报告", "r.pdf", PDF)],
    )
    services.report_review(actor=world.office, report=report, accept=True, score=80)
    assert light(due + datetime.timedelta(days=1)) == "done"
    assert list(task.events.values_list("kind", flat=True)) == [
        "created",
        "escalated",
        "urged",
        "reported",
        "accepted",
        "completed",
    ]
