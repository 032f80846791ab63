"""Policy writes: the library, 精准推送 on publication, and 免申即享 from the eligible list to payment.

Facts about an enterprise are read from the legal-entity registry through the exchange
(``exchange.services.registry_read``, app ``policies``: the exchange's grant decides, the read is
in its evidence log). Candidates are the enterprises known to the platform (enterprise accounts).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.audit import audit_record
from yiwang.core.errors import Conflict, Forbidden, NotAuthenticated, NotFound, ValidationFailed
from yiwang.core.inputs import ensure_storable
from yiwang.identity.models import Department, Role, User
from yiwang.identity.selectors import departments_for_actor
from yiwang.policies import payment, rules
from yiwang.policies.models import Award, Benefit, Objection, PaymentBatch, Policy

APP = "policies"
PURPOSE = "惠企政策资格判定"
DECIDER_ROLES = (Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN, Role.REVIEWER)


def _require_department(actor, department: Department) -> None:
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if getattr(actor, "is_superuser", False):
        return
    if not any(departments_for_actor(actor=actor, role=r).filter(pk=department.pk).exists() for r in DECIDER_ROLES):
        raise Forbidden(_("只有发文部门的工作人员可以管理该政策"))


def _amount(value, where: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(fields={where: [_("金额须为数字")]}) from None
    if amount < 0:
        raise ValidationFailed(fields={where: [_("金额不能为负")]})
    return amount


@transaction.atomic
def policy_create(
    *,
    actor,
    department: Department,
    title: str,
    document: str = "",
    valid_from: datetime.date | None = None,
    valid_to: datetime.date | None = None,
    benefits: list[dict],
) -> Policy:
    """A draft policy with its benefits; every rule is checked now (a fact that does not exist is
    refused naming the rule)."""
    _require_department(actor, department)
    ensure_storable({"title": title, "document": document, "benefits": benefits}, field="policy")
    if not (title or "").strip():
        raise ValidationFailed(fields={"title": [_("请填写政策名称")]})
    if not benefits:
        raise ValidationFailed(fields={"benefits": [_("请至少列出一项待遇")]})
    checked = []
    for index, item in enumerate(benefits):
        try:
            item_rules = rules.eligibility_check(
                item.get("rules", []), examples=item.get("examples"), run_examples=False
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.message, fields={f"benefits.{index}.{k}": v for k, v in exc.fields.items()}
            ) from None
        if item.get("kind") not in Benefit.Kind.values:
            raise ValidationFailed(fields={f"benefits.{index}.kind": [_("类别无效")]})
        mode = item.get("mode") or Benefit.Mode.NO_APPLICATION
        if mode not in Benefit.Mode.values:
            raise ValidationFailed(fields={f"benefits.{index}.mode": [_("兑现方式无效")]})
        checked.append((item, item_rules, mode, _amount(item.get("amount", 0), f"benefits.{index}.amount")))
    policy = Policy.objects.create(
        title=title.strip()[:200], document=document, department=department, valid_from=valid_from, valid_to=valid_to
    )
    for item, item_rules, mode, amount in checked:
        Benefit.objects.create(
            policy=policy,
            name=str(item.get("name") or "")[:200],
            kind=item["kind"],
            mode=mode,
            amount=amount,
            rules=item_rules,
        )
    audit_record(actor=actor, action="policies.policy_create", obj=policy, changes={"benefits": len(checked)})
    return policy


def _field_groups(consumer, registry: str, fields: list[str]) -> list[list[str]]:
    """``fields`` split by the app's live grants (a registry's fields may come from several source
    departments, each granting its own): the exchange answers one grant per read."""
    from yiwang.exchange import gateway

    now = timezone.now()
    grants = [g for g in consumer.grants(gateway.current()) if g.registry == registry and g.live(now)]
    groups, remaining = [], list(fields)
    while remaining:
        best = max(grants, key=lambda g: len(set(g.fields) & set(remaining)), default=None)
        covered = [f for f in remaining if best is not None and f in best.fields]
        if not covered:  # not granted: the exchange refuses with its own message
            groups.append(remaining)
            break
        groups.append(covered)
        remaining = [f for f in remaining if f not in covered]
    return groups


def _read_many(*, actor, registry: str, keys: list[str], fields: list[str]) -> dict[str, dict]:
    """{key: values} of ``keys`` read through the exchange as the app ``policies`` in batches of
    the exchange's limit, one read per grant the fields fall under (each read in the exchange's
    evidence log; refused without a grant). A masked value is no fact: left out."""
    from yiwang.exchange import gateway

    found: dict[str, dict] = {}
    if not keys or not fields:
        return found
    consumer = gateway.AppConsumer(app=APP, actor_repr=_actor_repr(actor))
    limit = gateway.batch_limit()
    for group in _field_groups(consumer, registry, fields):
        for first in range(0, len(keys), limit):
            result = gateway.read_many(
                consumer=consumer, purpose=PURPOSE, registry=registry, keys=keys[first : first + limit], fields=group
            )
            for record in result["records"]:
                values = found.setdefault(record.key, {})
                values.update({k: v for k, v in record.values.items() if k not in record.masked})
    return found


def _actor_repr(actor) -> str:
    if isinstance(actor, str) or actor is None:
        return actor or "system"
    return actor.get_username()


def economy_year(today: datetime.date | None = None) -> int:
    """The year whose 经济 indicators the policies judge on: the last full year."""
    return (today or timezone.localdate()).year - 1


def enterprises_facts(*, actor, usccs: list[str], tables: list[dict]) -> dict[str, dict]:
    """{USCC: facts} of enterprises for the facts ``tables`` refer to: the legal-entity record
    (always: an enterprise not in the registry is absent from the answer) and, when the rules
    need them, the latest year's economy indicators, both read through the exchange, and the
    credit grade and 失信 lists (the credit grades of supervision)."""
    from yiwang.supervision.selectors import credit_grades_of

    need = rules.facts_needed(tables)
    entity_fields = sorted(need["legal_entity"] | {"name", "status"})
    entities = _read_many(actor=actor, registry="legal_entity", keys=usccs, fields=entity_fields)
    economy: dict[str, dict] = {}
    if need["economy"]:
        year = economy_year()
        keyed = {f"{u}-{year}": u for u in entities}
        read = _read_many(actor=actor, registry="economy", keys=list(keyed), fields=sorted(need["economy"]))
        economy = {keyed.get(k, k.rsplit("-", 1)[0]): v for k, v in read.items()}
    credit = credit_grades_of(usccs=list(entities)) if need["credit"] else {}
    return {
        uscc: rules.facts_of(
            entity=values,
            economy=economy.get(uscc) if need["economy"] else None,
            credit=credit.get(uscc, {"grade": None, "dishonest": False}) if need["credit"] else None,
        )
        for uscc, values in entities.items()
    }


def enterprise_facts(*, actor, uscc: str, tables: list[dict] | None = None) -> dict:
    """The facts of one enterprise, read through the exchange (logged; refused without a grant);
    NotFound when the registry does not know it."""
    tables = tables if tables is not None else [b.rules for b in _published_benefits()]
    found = enterprises_facts(actor=actor, usccs=[uscc], tables=tables)
    if uscc not in found:
        raise NotFound(_("法人库中没有该企业。"), code="record_not_found")
    return found[uscc]


def person_facts(*, actor, id_number: str, tables: list[dict]) -> dict:
    """The facts of one person (population registry through the exchange): age, household…"""
    need = rules.facts_needed(tables)
    fields = sorted(need["population"] | {"birth_date"})
    found = _read_many(actor=actor, registry="population", keys=[id_number], fields=fields)
    if not found:
        raise NotFound(_("人口库中没有该居民。"), code="record_not_found")
    return rules.facts_of(person=next(iter(found.values())), applicant_kind="natural_person")


def _published_benefits() -> list[Benefit]:
    return list(Benefit.objects.filter(policy__status=Policy.Status.PUBLISHED).select_related("policy"))


def _candidates(usccs: list[str] | None = None) -> dict[str, list[User]]:
    """Enterprises known to the platform: {USCC: their active agents}."""
    found: dict[str, list[User]] = {}
    rows = User.objects.filter(kind=User.Kind.ENTERPRISE_AGENT, is_active=True).exclude(enterprise_uscc="")
    if usccs is not None:
        rows = rows.filter(enterprise_uscc__in=usccs)
    for user in rows.only("pk", "enterprise_uscc", "enterprise_name", "kind", "username"):
        found.setdefault(user.enterprise_uscc, []).append(user)
    return found


def _tell(*, actor, policy: Policy, benefit: Benefit, uscc: str, agents: list[User], reasons: list[str]) -> int:
    from yiwang.messaging.services import message_send

    for agent in agents:
        message_send(
            actor=actor,
            recipient=agent,
            template_code="policies.eligible",
            context={
                "policy": policy.title,
                "benefit": benefit.name,
                "amount": str(benefit.amount),
                "mode": str(Benefit.Mode(benefit.mode).label),
                "reasons": ";".join(reasons),
            },
            dedupe_key=f"policies.eligible:{benefit.pk}:{uscc}",
        )
    return len(agents)


def eligibility_run(*, actor, benefits: list[Benefit], usccs: list[str], agents: dict[str, list[User]] | None = None):
    """Evaluate ``benefits`` for the enterprises ``usccs``: the 免申即享 ones eligible go on the
    benefit's list (待审核), and every eligible enterprise with agents is told (精准推送, once per
    benefit and enterprise). An enterprise listed but no longer eligible while still 待审核 is
    taken off (已剔除, with the new reasons). Returns counts."""
    counts = {"evaluated": 0, "eligible": 0, "listed": 0, "notified": 0, "lapsed": 0}
    if not benefits:
        return counts
    tables = [b.rules for b in benefits]
    agents = agents if agents is not None else _candidates(usccs)
    pending = (
        {
            (a.benefit_id, a.uscc): a
            for a in Award.objects.filter(benefit__in=benefits, uscc__in=usccs, status=Award.Status.ELIGIBLE)
        }
        if len(usccs) <= 1000
        else {
            (a.benefit_id, a.uscc): a for a in Award.objects.filter(benefit__in=benefits, status=Award.Status.ELIGIBLE)
        }
    )
    chunk = 1000
    new_awards: list[Award] = []
    for first in range(0, len(usccs), chunk):
        facts_by = enterprises_facts(actor=actor, usccs=usccs[first : first + chunk], tables=tables)
        for uscc, facts in facts_by.items():
            counts["evaluated"] += 1
            name = facts.get("registry.legal_entity.name") or uscc
            for benefit in benefits:
                result = rules.decide(benefit.rules, facts)  # reasons worded only when needed
                if result.outcome != "approve":
                    award = pending.get((benefit.pk, uscc))
                    if award is not None:
                        _eligible, reasons = rules.evaluate(benefit.rules, facts)
                        award.status, award.reasons = Award.Status.EXCLUDED, reasons
                        award.save(update_fields=["status", "reasons"])
                        counts["lapsed"] += 1
                    continue
                counts["eligible"] += 1
                reasons = result.reasons()
                if benefit.mode == Benefit.Mode.NO_APPLICATION and (benefit.pk, uscc) not in pending:
                    new_awards.append(
                        Award(benefit=benefit, uscc=uscc, name=str(name)[:200], amount=benefit.amount, reasons=reasons)
                    )
                if uscc in agents:
                    counts["notified"] += _tell(
                        actor=actor,
                        policy=benefit.policy,
                        benefit=benefit,
                        uscc=uscc,
                        agents=agents[uscc],
                        reasons=reasons,
                    )
    for first in range(0, len(new_awards), chunk):
        made = Award.objects.bulk_create(new_awards[first : first + chunk], ignore_conflicts=True)
        counts["listed"] += len(made)
    return counts


def _registry_population() -> list[str]:
    """Every enterprise the policies consider: active legal entities of the registry."""
    from yiwang.registries.selectors import legal_entity_pool

    return [row["uscc"] for row in legal_entity_pool()]


@transaction.atomic
def policy_publish(*, actor, policy: Policy, usccs: list[str] | None = None) -> dict:
    """Publish: every benefit's examples must pass; then find every eligible enterprise of the
    registry (or of ``usccs``), tell the agents of each what it can get and why (精准推送,
    messaging template ``policies.eligible``), and put the 免申即享 ones on each benefit's list
    for the department's review. Returns counts."""
    _require_department(actor, policy.department)
    policy = Policy.objects.select_for_update(no_key=True).get(pk=policy.pk)
    if policy.status == Policy.Status.PUBLISHED:
        raise Conflict(_("该政策已发布"))
    benefits = list(policy.benefits.select_related("policy"))
    for index, benefit in enumerate(benefits):
        try:
            rules.eligibility_check(benefit.rules, run_examples=True, require_examples=True)
        except ValidationFailed as exc:
            raise ValidationFailed(
                _("“%(name)s”的条件未通过检查,不能发布:%(why)s") % {"name": benefit.name, "why": exc.message},
                code="rules_examples_failed",
                fields={f"benefits.{index}.{k}": v for k, v in exc.fields.items()},
            ) from None
    policy.status = Policy.Status.PUBLISHED
    policy.published_at = timezone.now()
    policy.save(update_fields=["status", "published_at"])
    counts = eligibility_run(
        actor=actor, benefits=benefits, usccs=usccs if usccs is not None else _registry_population()
    )
    audit_record(
        actor=actor,
        action="policies.policy_publish",
        obj=policy,
        changes={"notified": counts["notified"], "listed": counts["listed"], "evaluated": counts["evaluated"]},
    )
    return {"notified": counts["notified"], "listed": counts["listed"]}


RERUN_ACTOR = "policies.eligibility"


def facts_changed(*, usccs: list[str], source: str | None = None) -> dict:
    """A registry record of these enterprises changed: run the published benefits again for
    them (newly eligible: listed and told; 待审核 but no longer eligible: taken off). With
    ``source`` (``"credit"``: their credit grade changed), only the benefits whose rules use a
    fact of that source run. Audited by the system actor ``policies.eligibility``."""
    benefits = _published_benefits()
    if source is not None:
        benefits = [b for b in benefits if rules.facts_needed([b.rules]).get(source)]
    if not benefits or not usccs:
        return {"evaluated": 0}
    with transaction.atomic():
        counts = eligibility_run(actor=RERUN_ACTOR, benefits=benefits, usccs=sorted(set(usccs)))
        if counts["listed"] or counts["lapsed"] or counts["notified"]:
            audit_record(
                actor=RERUN_ACTOR,
                action="policies.eligibility_rerun",
                obj=benefits[0].policy,
                changes={"usccs": len(set(usccs)), "source": source or "registry", **counts},
            )
    return counts


@transaction.atomic
def award_review(*, actor, award: Award, include: bool) -> Award:
    """The department keeps (已审核) or excludes (已剔除) one name on the 免申即享 list."""
    _require_department(actor, award.benefit.policy.department)
    award = Award.objects.select_for_update(no_key=True).get(pk=award.pk)
    if award.status != Award.Status.ELIGIBLE:
        raise Conflict(_("该名单已审核"))
    award.status = Award.Status.REVIEWED if include else Award.Status.EXCLUDED
    award.reviewed_by = actor
    award.save(update_fields=["status", "reviewed_by"])
    audit_record(actor=actor, action="policies.award_review", obj=award, changes={"status": award.status})
    return award


@transaction.atomic
def awards_confirm(*, actor, benefit: Benefit) -> PaymentBatch:
    """Confirm every reviewed name of a benefit and hand them to the finance adapter as one batch
    (default: an Excel payment batch with its total)."""
    _require_department(actor, benefit.policy.department)
    awards = list(
        Award.objects.select_for_update(no_key=True)
        .filter(benefit=benefit, status=Award.Status.REVIEWED)
        .order_by("uscc")
    )
    if not awards:
        raise ValidationFailed(_("没有已审核待确认的名单"), fields={"benefit": [_("名单为空")]})
    total = sum((a.amount for a in awards), Decimal("0"))
    batch = PaymentBatch.objects.create(
        benefit=benefit,
        count=len(awards),
        total=total,
        file=payment.batch_file([(a.uscc, a.name, a.amount) for a in awards]),
    )
    Award.objects.filter(pk__in=[a.pk for a in awards]).update(status=Award.Status.CONFIRMED, batch=batch)
    audit_record(
        actor=actor, action="policies.awards_confirm", obj=batch, changes={"count": len(awards), "total": str(total)}
    )
    return batch


@transaction.atomic
def payment_batch_import(*, actor, batch: PaymentBatch, content: bytes) -> PaymentBatch:
    """Record the finance system's answer: each beneficiary's payment reference. The answer must
    name exactly the batch's beneficiaries with their amounts, and its stated total must equal both
    the sum of its lines and the batch's total — otherwise nothing is recorded and the error says
    which line or total does not match."""
    _require_department(actor, batch.benefit.policy.department)
    batch = PaymentBatch.objects.select_for_update(no_key=True).get(pk=batch.pk)
    if batch.status == PaymentBatch.Status.PAID:
        raise Conflict(_("该批次已支付"))
    paid, stated = payment.read_answer(content)
    lines_total = sum((amount for amount, _ref in paid.values()), Decimal("0"))
    if stated != lines_total or stated != batch.total:
        message = _("支付回执合计不符:回执合计 %(stated)s 元,明细之和 %(lines)s 元,批次合计 %(batch)s 元") % {
            "stated": stated,
            "lines": lines_total,
            "batch": batch.total,
        }
        raise ValidationFailed(message, code="payment_total_mismatch", fields={"file": [message]})
    awards = {a.uscc: a for a in Award.objects.select_for_update(no_key=True).filter(batch=batch)}
    if set(paid) != set(awards):
        message = _("支付回执的企业与批次不一致")
        raise ValidationFailed(message, code="payment_mismatch", fields={"file": [message]})
    for uscc, award in awards.items():
        amount, reference = paid[uscc]
        if amount != award.amount or not reference:
            message = _("%(uscc)s:金额或支付凭证号不符") % {"uscc": uscc}
            raise ValidationFailed(message, code="payment_mismatch", fields={"file": [message]})
        award.status = Award.Status.PAID
        award.payment_reference = reference[:64]
        award.save(update_fields=["status", "payment_reference"])
    batch.status = PaymentBatch.Status.PAID
    batch.save(update_fields=["status"])
    audit_record(actor=actor, action="policies.payment_batch_import", obj=batch, changes={"count": len(awards)})
    return batch


# --- the rule editor -------------------------------------------------------------------------------


@transaction.atomic
def benefit_rules_save(*, actor, benefit: Benefit, table) -> Benefit:
    """Replace a draft policy's benefit rules with ``table`` (the rule editor): every row is
    checked (facts, operators, values, contradictions) and named in the error; the examples are
    run at publication, so a draft may be saved while they fail."""
    _require_department(actor, benefit.policy.department)
    benefit = Benefit.objects.select_for_update(no_key=True).select_related("policy").get(pk=benefit.pk)
    if benefit.policy.status != Policy.Status.DRAFT:
        raise Conflict(_("已发布政策的条件不能再修改,请起草新政策"), code="policy_published")
    ensure_storable(table, field="rules")
    clean = rules.eligibility_check(table, run_examples=False)
    old = benefit.rules
    benefit.rules = clean
    benefit.save(update_fields=["rules"])
    audit_record(
        actor=actor,
        action="policies.benefit_rules_save",
        obj=benefit,
        changes={
            "rows": [
                len((old or {}).get("rules") or []) if isinstance(old, dict) else len(old or []),
                len(clean["rules"]),
            ]
        },
    )
    return benefit


# --- 即申即享: one click, decided by the rules ----------------------------------------------------------


@transaction.atomic
def benefit_apply(*, actor, benefit: Benefit) -> tuple[Award | None, list[str]]:
    """即申即享: the enterprise agent applies with one click; the facts are read (pre-filled from
    the registries, nothing typed) and the benefit's rules decide — 符合: on the list as 已审核
    (the department only confirms the payment batch); 需人工核实: on the list as 待审核;
    不符合: nothing is recorded and the reasons are returned. Returns (award or None, reasons)."""
    from yiwang.policies.selectors import enterprise_of

    uscc = enterprise_of(actor)
    if not uscc:
        raise Forbidden(_("只有企业经办人可以申请惠企政策"), code="not_enterprise")
    if benefit.mode != Benefit.Mode.INSTANT or benefit.policy.status != Policy.Status.PUBLISHED:
        raise Conflict(_("该待遇不是即申即享,无需申请"), code="not_instant")
    if Award.objects.filter(benefit=benefit, uscc=uscc).exists():
        raise Conflict(_("已申请过该待遇"), code="already_applied")
    facts = enterprise_facts(actor=actor, uscc=uscc, tables=[benefit.rules])
    result = rules.outcome_of(benefit.rules, facts)
    _eligible, reasons = rules.evaluate(benefit.rules, facts)
    if result.outcome == "refuse":
        audit_record(
            actor=actor, action="policies.benefit_apply", obj=benefit, changes={"uscc": uscc, "outcome": "refuse"}
        )
        return None, reasons
    award = Award.objects.create(
        benefit=benefit,
        uscc=uscc,
        name=(facts.get("registry.legal_entity.name") or actor.enterprise_name or uscc)[:200],
        amount=benefit.amount,
        reasons=reasons,
        status=Award.Status.REVIEWED if result.outcome == "approve" else Award.Status.ELIGIBLE,
        applied_by=actor,
    )
    audit_record(
        actor=actor,
        action="policies.benefit_apply",
        obj=award,
        changes={"uscc": uscc, "outcome": result.outcome, "row": result.row},
    )
    return award, reasons


# --- objections --------------------------------------------------------------------------------------

OBJECTION_DAYS = 10  # working days the department has to answer


@transaction.atomic
def objection_raise(*, actor, benefit: Benefit, text: str) -> Objection:
    """The enterprise objects to what was decided about one published benefit (left off the
    list, taken off, the amount). It sees the reasons it objects to; the issuing department
    answers within ``OBJECTION_DAYS`` working days. One open objection per benefit."""
    from yiwang.core.calendar import add_working_days
    from yiwang.messaging.services import message_send
    from yiwang.policies.selectors import enterprise_of

    uscc = enterprise_of(actor)
    if not uscc:
        raise Forbidden(_("只有企业经办人可以提出异议"), code="not_enterprise")
    if benefit.policy.status != Policy.Status.PUBLISHED:
        raise NotFound()
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(fields={"text": [_("请写明异议的内容和理由")]})
    ensure_storable(text, field="text")
    if Objection.objects.filter(benefit=benefit, uscc=uscc, status=Objection.Status.OPEN).exists():
        raise Conflict(_("您对该待遇的异议正在处理中"), code="objection_open")
    award = Award.objects.filter(benefit=benefit, uscc=uscc).first()
    if award is not None:
        seen = award.reasons
    else:
        _eligible, seen = rules.evaluate(
            benefit.rules, enterprise_facts(actor=actor, uscc=uscc, tables=[benefit.rules])
        )
    objection = Objection.objects.create(
        benefit=benefit,
        uscc=uscc,
        raised_by=actor,
        text=text[:2000],
        reasons_seen=seen,
        due_on=add_working_days(timezone.localdate(), OBJECTION_DAYS),
    )
    audit_record(actor=actor, action="policies.objection_raise", obj=objection, changes={"uscc": uscc})
    for staff in User.objects.filter(
        role_grants__department=benefit.policy.department, role_grants__role__in=DECIDER_ROLES, is_active=True
    ).distinct()[:20]:
        message_send(
            actor=actor,
            recipient=staff,
            template_code="policies.objection",
            context={"benefit": benefit.name, "due": objection.due_on.isoformat()},
            dedupe_key=f"policies.objection:{objection.pk}:{staff.pk}",
        )
    return objection


@transaction.atomic
def objection_answer(*, actor, objection, upheld: bool, answer: str):
    """The department answers an objection: upheld (the enterprise goes on the list as 已审核 —
    or back on it — with the answer as its reason) or dismissed, with the answer the enterprise
    reads. An answer after the deadline is still taken and recorded as late."""
    from yiwang.messaging.services import message_send

    _require_department(actor, objection.benefit.policy.department)
    objection = Objection.objects.select_for_update(no_key=True).select_related("benefit").get(pk=objection.pk)
    if objection.status != Objection.Status.OPEN:
        raise Conflict(_("该异议已答复"), code="objection_answered")
    answer = (answer or "").strip()
    if not answer:
        raise ValidationFailed(fields={"answer": [_("请填写答复意见")]})
    ensure_storable(answer, field="answer")
    late = objection.overdue
    objection.status = Objection.Status.UPHELD if upheld else Objection.Status.DISMISSED
    objection.answer, objection.decided_by, objection.decided_at = answer[:2000], actor, timezone.now()
    objection.save(update_fields=["status", "answer", "decided_by", "decided_at"])
    if upheld:
        benefit = objection.benefit
        award = Award.objects.select_for_update(no_key=True).filter(benefit=benefit, uscc=objection.uscc).first()
        reasons = [_("异议成立:%(answer)s") % {"answer": answer[:200]}]
        if award is None:
            agent = objection.raised_by
            Award.objects.create(
                benefit=benefit,
                uscc=objection.uscc,
                name=(getattr(agent, "enterprise_name", "") or objection.uscc)[:200],
                amount=benefit.amount,
                reasons=reasons,
                status=Award.Status.REVIEWED,
                reviewed_by=actor,
            )
        elif award.status in (Award.Status.EXCLUDED, Award.Status.ELIGIBLE):
            award.status, award.reviewed_by, award.reasons = Award.Status.REVIEWED, actor, [*reasons, *award.reasons]
            award.save(update_fields=["status", "reviewed_by", "reasons"])
    audit_record(
        actor=actor,
        action="policies.objection_answer",
        obj=objection,
        changes={"status": objection.status, "late": late},
    )
    message_send(
        actor=actor,
        recipient=objection.raised_by,
        template_code="policies.objection_answered",
        context={"benefit": objection.benefit.name, "status": str(objection.get_status_display()), "answer": answer},
        dedupe_key=f"policies.objection_answered:{objection.pk}",
    )
    return objection


def published_benefits_exist() -> bool:
    return Benefit.objects.filter(policy__status=Policy.Status.PUBLISHED).exists()
