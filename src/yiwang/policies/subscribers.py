"""Facts change after publication: a changed legal-entity or economy record (the registries'
``registries.record_changed``) runs the published benefits again for that enterprise
(``services.facts_changed``: newly eligible ones listed and told, 待审核 ones no longer eligible
taken off). Credit grades are read when the rules run."""

from __future__ import annotations

from yiwang.core import events

WATCHED = ("legal_entity", "economy")


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
