"""Module-level tasks for the scheduler tests (a database worker imports tasks by path)."""

from django_tasks import task

from yiwang.core.audit import audit_record


@task()
def tick() -> dict:
    audit_record(actor="task:test", action="test.tick", object_type="test.job", object_id="tick")
    return {"ticked": True}


@task()
def explode() -> None:
    raise RuntimeError("the job failed on purpose")


@task()
def needs_argument(case_id: int) -> None:  # not schedulable: periodic jobs take no arguments
    pass
