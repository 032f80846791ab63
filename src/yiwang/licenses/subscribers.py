"""Auto-issuance: when a case whose item outputs a license type is approved, issue the license.

The cases app publishes ``case.approved`` with ``{"case_id": int}`` and knows nothing of
licenses; the facts come from ``yiwang.cases.selectors.case_issuance_facts``. Issuance is
idempotent per case (``License.source_case_id``). A case whose facts do not make a valid
license is recorded in the audit chain (``licenses.auto_issue_failed``) for staff to issue by hand.
"""

import logging

from yiwang.core import events
from yiwang.core.audit import audit_record
from yiwang.core.errors import YiwangError
from yiwang.identity.models import Department
from yiwang.licenses.models import HolderKind, License, LicenseType

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "licenses.auto_issue"
_HOLDER_KINDS = {
    "natural_person": HolderKind.PERSON,
    "person": HolderKind.PERSON,
    "legal_person": HolderKind.ENTERPRISE,
    "enterprise": HolderKind.ENTERPRISE,
}


def issue_for_case(case_id: int) -> License | None:
    from yiwang.cases.selectors import case_issuance_facts
    from yiwang.licenses.services import license_issue

    facts = case_issuance_facts(case_id=case_id)
    code = facts.get("license_type_code")
    if not code:
        return None
    existing = License.objects.filter(source_case_id=case_id).first()
    if existing is not None:
        return existing
    license_type = LicenseType.objects.filter(code=code, is_active=True).first()
    if license_type is None:
        logger.info("case %s outputs license type %r, which is not defined here", case_id, code)
        return None
    props = (license_type.field_schema or {}).get("properties")
    form = facts.get("form_data") or {}
    data = {k: v for k, v in form.items() if props is None or k in props}
    try:
        return license_issue(
            actor=SYSTEM_ACTOR,
            license_type=license_type,
            holder_kind=_HOLDER_KINDS.get(facts.get("holder_kind"), facts.get("holder_kind") or ""),
            holder_name=facts.get("holder_name") or "",
            holder_id=facts.get("holder_id_number") or "",
            data=data,
            issuer_department=Department.objects.get(pk=facts["issuer_department_id"]),
            source_case_id=case_id,
            reason=f"办件 {facts.get('case_number', case_id)} 准予许可",
        )
    except YiwangError as exc:
        audit_record(
            actor=SYSTEM_ACTOR,
            action="licenses.auto_issue_failed",
            object_type="cases.case",
            object_id=str(case_id),
            object_repr=str(facts.get("case_number", "")),
            changes={"license_type": code, "error": exc.as_dict()},
        )
        logger.warning("auto-issuance for case %s failed: %s", case_id, exc.as_dict())
        return None


@events.subscribe("case.approved")
def issue_license_on_approval(event: events.DomainEvent) -> None:
    issue_for_case(int(event.payload["case_id"]))
