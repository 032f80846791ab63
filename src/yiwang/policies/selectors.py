"""Policy reads: the published library, 政策计算器 for an enterprise, its awards, the lists to review."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from yiwang.core.errors import NotFound
from yiwang.identity.models import User
from yiwang.identity.selectors import departments_for_actor
from yiwang.policies import rules
from yiwang.policies.models import Award, Benefit, Policy


def policies_published() -> QuerySet[Policy]:
    return Policy.objects.filter(status=Policy.Status.PUBLISHED).select_related("department")


def policy_get_published(*, id) -> Policy:
    """A published policy with its benefits; a draft is missing (NotFound) for everyone here."""
    found = policies_published().prefetch_related("benefits").filter(pk=id).first()
    if found is None:
        raise NotFound()
    return found


@dataclass(frozen=True)
class CalculatorLine:
    policy: Policy
    benefit: Benefit
    eligible: bool
    reasons: list[str]
    amount: Decimal


def calculator(*, actor) -> tuple[list[CalculatorLine], Decimal]:
    """政策计算器: every published benefit with whether the actor's enterprise (an enterprise
    agent's) — or the actor himself, a citizen, on the facts about persons — qualifies, why, and
    the total it may get. Anyone else gets NotFound."""
    benefits = list(Benefit.objects.filter(policy__status=Policy.Status.PUBLISHED).select_related("policy"))
    facts = subject_facts(actor=actor, tables=[b.rules for b in benefits])
    lines = []
    for benefit in benefits:
        eligible, reasons = rules.evaluate(benefit.rules, facts)
        lines.append(
            CalculatorLine(benefit.policy, benefit, eligible, reasons, benefit.amount if eligible else Decimal(0))
        )
    lines.sort(key=lambda line: (not line.eligible, -line.amount))
    return lines, sum((line.amount for line in lines), Decimal("0"))


def enterprise_of(actor) -> str:
    """The USCC the actor acts for (an enterprise agent's), else ""."""
    return getattr(actor, "enterprise_uscc", "") if getattr(actor, "kind", "") == User.Kind.ENTERPRISE_AGENT else ""


def subject_facts(*, actor, tables: list[dict]) -> dict:
    """The facts of the actor's enterprise, or of the actor (a citizen with a verified 身份证号),
    read through the exchange for what ``tables`` refer to. NotFound for anyone else."""
    from yiwang.policies.services import enterprise_facts, person_facts

    uscc = enterprise_of(actor)
    if uscc:
        return enterprise_facts(actor=actor, uscc=uscc, tables=tables)
    id_number = getattr(actor, "id_number", "") if getattr(actor, "kind", "") == User.Kind.CITIZEN else ""
    if not id_number:
        raise NotFound()
    return person_facts(actor=actor, id_number=id_number, tables=tables)


def awards_of_enterprise(*, actor) -> QuerySet[Award]:
    uscc = getattr(actor, "enterprise_uscc", "") if getattr(actor, "kind", "") == User.Kind.ENTERPRISE_AGENT else ""
    if not uscc:
        return Award.objects.none()
    return Award.objects.filter(uscc=uscc).select_related("benefit", "benefit__policy")


def awards_to_review(*, actor) -> QuerySet[Award]:
    rows = Award.objects.select_related("benefit", "benefit__policy")
    if getattr(actor, "is_superuser", False):
        return rows
    return rows.filter(benefit__policy__department__in=departments_for_actor(actor=actor))


def award_get_for_review(*, actor, id) -> Award:
    found = awards_to_review(actor=actor).filter(pk=id).first()
    if found is None:
        raise NotFound()
    return found


def benefit_get_for_department(*, actor, id) -> Benefit:
    rows = Benefit.objects.select_related("policy", "policy__department")
    if not getattr(actor, "is_superuser", False):
        rows = rows.filter(policy__department__in=departments_for_actor(actor=actor))
    found = rows.filter(pk=id).first()
    if found is None:
        raise NotFound()
    return found


def batches_for_department(*, actor) -> QuerySet:
    from yiwang.policies.models import PaymentBatch

    rows = PaymentBatch.objects.select_related("benefit", "benefit__policy")
    if getattr(actor, "is_superuser", False):
        return rows
    return rows.filter(benefit__policy__department__in=departments_for_actor(actor=actor))


def batch_get_for_department(*, actor, id):
    found = batches_for_department(actor=actor).filter(pk=id).first()
    if found is None:
        raise NotFound()
    return found


def policies_for_department(*, actor) -> QuerySet[Policy]:
    """The policies of the actor's departments (drafts included), for the workbench."""
    rows = Policy.objects.select_related("department").prefetch_related("benefits")
    if getattr(actor, "is_superuser", False):
        return rows
    return rows.filter(department__in=departments_for_actor(actor=actor))


def policy_get_for_department(*, actor, id) -> Policy:
    found = policies_for_department(actor=actor).filter(pk=id).first()
    if found is None:
        raise NotFound()
    return found


def benefit_get_published(*, id) -> Benefit:
    found = Benefit.objects.filter(pk=id, policy__status=Policy.Status.PUBLISHED).select_related("policy").first()
    if found is None:
        raise NotFound()
    return found


def objections_for_department(*, actor) -> QuerySet:
    from yiwang.policies.models import Objection

    rows = Objection.objects.select_related("benefit", "benefit__policy")
    if getattr(actor, "is_superuser", False):
        return rows
    return rows.filter(benefit__policy__department__in=departments_for_actor(actor=actor))


def objection_get_for_department(*, actor, id):
    found = objections_for_department(actor=actor).filter(pk=id).first()
    if found is None:
        raise NotFound()
    return found


def objections_of_enterprise(*, actor) -> QuerySet:
    from yiwang.policies.models import Objection

    uscc = enterprise_of(actor)
    if not uscc:
        return Objection.objects.none()
    return Objection.objects.filter(uscc=uscc).select_related("benefit")
