"""Facts change after publication, and the published benefits run again for the enterprises
concerned only (``services.facts_changed``: newly eligible ones listed and told, 待审核 ones no
longer eligible taken off):

* changed legal-entity or economy records (the registries' ``registries.records_changed``, one
  event per written batch of up to 1,000 records; other registries' batches queue nothing here):
  every published benefit, for those enterprises, in one run;
* a changed credit grade or 严重失信 listing (supervision's ``supervision.credit_grade_changed``,
  published by its grade recomputation after an inspection, a credit record or a 信用修复):
  the published benefits whose rules use a ``credit.*`` fact, for those enterprises."""

from __future__ import annotations

from yiwang.core import events

WATCHED = ("legal_entity", "economy")
MAX_USCCS = 1000  # the registries and supervision publish their changes in chunks of this size


@events.subscribe("registries.records_changed", only={"registry": WATCHED})
def rerun_eligibility(event: events.DomainEvent) -> None:
    from yiwang.policies import services
    from yiwang.registries.selectors import record_subjects

    registry = event.payload.get("registry")
    record_ids = [int(i) for i in (event.payload.get("record_ids") or [])][:MAX_USCCS]
    if registry not in WATCHED or not record_ids or not services.published_benefits_exist():
        return
    usccs = record_subjects(registry=registry, record_ids=record_ids)
    if usccs:
        services.facts_changed(usccs=usccs)


@events.subscribe("supervision.credit_grade_changed")
def rerun_on_credit_grade(event: events.DomainEvent) -> None:
    from yiwang.policies import services

    usccs = [str(u) for u in (event.payload.get("usccs") or []) if u][:MAX_USCCS]
    if usccs and services.published_benefits_exist():
        services.facts_changed(usccs=usccs, source="credit")
