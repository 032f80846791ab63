"""Background tasks of the cases app (Django's task API; schedule ``case_sweep`` e.g. hourly)."""

from django_tasks import task

from yiwang.cases import services


@task()
def case_sweep() -> dict:
    """The five-working-day rule (deemed acceptance) and the SLA status of running cases."""
    return services.case_sweep()


@task()
def case_material_orphans_purge() -> dict:
    """Remove material files left by transactions that rolled back (schedule e.g. daily)."""
    result = services.case_material_orphans_purge()
    return {"scanned": result["scanned"], "removed": len(result["removed"])}
