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
from yiwang.policies.models import Award, Benefit, PaymentBatch, Policy

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
            item_rules = rules.rules_check(item.get("rules", []))
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


def enterprise_facts(*, actor, uscc: str) -> dict:
    """The facts of one enterprise, read through the exchange (logged; refused without a grant)."""
    from yiwang.exchange.services import registry_read

    result = registry_read(
        actor=actor, app=APP, purpose=PURPOSE, registry="legal_entity", key=uscc, fields=rules.REGISTRY_FIELDS
    )
    facts = rules.facts_from_registry(result.values)
    facts["name"] = ""
    return facts


def _candidates() -> dict[str, list[User]]:
    """Enterprises known to the platform: {USCC: their active agents}."""
    found: dict[str, list[User]] = {}
    for user in User.objects.filter(kind=User.Kind.ENTERPRISE_AGENT, is_active=True).exclude(enterprise_uscc=""):
        found.setdefault(user.enterprise_uscc, []).append(user)
    return found


@transaction.atomic
def policy_publish(*, actor, policy: Policy) -> dict:
    """Publish: find every eligible enterprise, tell its agents what they can get and why
    (精准推送, messaging template ``policies.eligible``), and put the 免申即享 ones on each benefit's
    list for the department's review. Returns counts."""
    from yiwang.messaging.services import message_send

    _require_department(actor, policy.department)
    policy = Policy.objects.select_for_update(no_key=True).get(pk=policy.pk)
    if policy.status == Policy.Status.PUBLISHED:
        raise Conflict(_("该政策已发布"))
    policy.status = Policy.Status.PUBLISHED
    policy.published_at = timezone.now()
    policy.save(update_fields=["status", "published_at"])
    benefits = list(policy.benefits.all())
    notified = listed = 0
    for uscc, agents in _candidates().items():
        try:
            facts = enterprise_facts(actor=actor, uscc=uscc)
        except NotFound:  # an account whose enterprise is not (or no longer) in the registry
            continue
        for benefit in benefits:
            eligible, reasons = rules.evaluate(benefit.rules, facts)
            if not eligible:
                continue
            name = agents[0].enterprise_name or uscc
            if benefit.mode == Benefit.Mode.NO_APPLICATION:
                _award, created = Award.objects.get_or_create(
                    benefit=benefit, uscc=uscc, defaults={"name": name, "amount": benefit.amount, "reasons": reasons}
                )
                listed += int(created)
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
                notified += 1
    audit_record(
        actor=actor, action="policies.policy_publish", obj=policy, changes={"notified": notified, "listed": listed}
    )
    return {"notified": notified, "listed": listed}


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
