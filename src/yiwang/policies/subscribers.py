"""Facts change after publication, and the published benefits run again for the enterprises
concerned only (``services.facts_changed``: newly eligible ones listed and told, 待审核 ones no
longer eligible taken off):

* a changed legal-entity or economy record (the registries' ``registries.record_changed``):
  every published benefit, for that enterprise;
* a changed credit grade or 严重失信 listing (supervision's ``supervision.credit_grade_changed``,
  published by its grade recomputation after an inspection, a credit record or a 信用修复):
  the published benefits whose rules use a ``credit.*`` fact, for those enterprises."""

from __future__ import annotations

from yiwang.core import events

WATCHED = ("legal_entity", "economy")
MAX_USCCS = 1000  # supervision publishes its changes in chunks of this size


@events.subscribe("registries.record_changed")
def rerun_eligibility(event: events.DomainEvent) -> None:
    from yiwang.policies import services
    from yiwang.registries.selectors import record_read_by_id

    registry = event.payload.get("registry")
    if registry not in WATCHED or not services.published_benefits_exist():
        return
    field = {"legal_entity": "name", "economy": "tax_paid"}[registry]
    view = record_read_by_id(registry=registry, record_id=event.payload.get("record_id"), fields=[field])
    uscc = view.subject_key if view is not None else None
    if uscc:
        services.facts_changed(usccs=[str(uscc)])


@events.subscribe("supervision.credit_grade_changed")
def rerun_on_credit_grade(event: events.DomainEvent) -> None:
    from yiwang.policies import services

    usccs = [str(u) for u in (event.payload.get("usccs") or []) if u][:MAX_USCCS]
    if usccs and services.published_benefits_exist():
        services.facts_changed(usccs=usccs, source="credit")
