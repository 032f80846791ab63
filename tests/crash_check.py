"""Run inside a child installation (`Install.python`): what the crash test asserts on, as JSON."""

import json

from django.core.files.storage import default_storage
from django.db.models import Count
from django_tasks_db.models import DBTaskResult

from yiwang.cases.models import Case, CaseMaterial
from yiwang.messaging.models import Message


def snapshot(pdf_size: int) -> None:
    materials: dict[int, list] = {}
    for material in CaseMaterial.objects.all():
        materials.setdefault(material.case_id, []).append(material)

    def files_ok(case_id: int) -> bool:
        stored = materials.get(case_id, [])
        return bool(stored) and all(
            default_storage.exists(m.file.name) and default_storage.size(m.file.name) == pdf_size for m in stored
        )

    keyed = Message.objects.exclude(dedupe_key="").values("recipient", "channel", "dedupe_key").annotate(n=Count("id"))
    print(
        json.dumps(
            {
                "cases": {
                    case.pk: {
                        "key": case.idempotency_key,
                        "number": case.number,
                        "state": case.state,
                        "files": files_ok(case.pk),
                    }
                    for case in Case.objects.all()
                },
                "tasks": {s: DBTaskResult.objects.filter(status=s).count() for s in ("READY", "RUNNING", "FAILED")},
                "messages": {s: Message.objects.filter(state=s).count() for s in ("queued", "sent", "read", "failed")},
                "failed_tasks": [
                    f"{task.task_path}: {task.exception_class_path}: {task.traceback[-600:]}"
                    for task in DBTaskResult.objects.filter(status="FAILED")
                ],
                "queued_messages": [
                    f"{m.template_code} {m.channel} attempts={m.attempts} created={m.created_at}"
                    for m in Message.objects.filter(state="queued")
                ],
                "message_dupes": list(keyed.filter(n__gt=1).values_list("dedupe_key", flat=True)),
                "sent_twice": Message.objects.filter(deliveries__outcome="sent")
                .annotate(n=Count("deliveries"))
                .filter(n__gt=1)
                .count(),
            }
        )
    )
