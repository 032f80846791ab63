"""Case writes: one service per transition of the lifecycle.

Every service is keyword-only, runs in one transaction, locks the case row, checks the
actor's role with the identity selectors, bumps ``Case.version``, writes a timeline step
and an audit event, and publishes ``case.<event>`` with payload ``{"case_id": id}`` once
the transaction commits.

Optimistic concurrency: staff services take ``expected_version`` (the ``version`` the
actor's page or API client last saw). If somebody else changed the case meanwhile, the
service raises ``Conflict`` naming what happened, and changes nothing. Without
``expected_version`` the state check alone decides (a second acceptance of an accepted
case is a conflict too).

Roles: a window clerk (any department's item: front-office intake, 一窗受理; cases of his
hall's region, see ``cases.selectors``) submits for walk-in applicants, accepts, refuses,
requests the supplement and delivers; reviewers and
department heads of the implementing department do the same and review; the department
head assigns, extends and decides; the applicant submits, answers, withdraws.

The package is split by stage: ``base`` (grants, roles, the locked case, steps), ``submission``,
``files`` (materials), ``drafts``, ``acceptance``, ``review`` (review and decision), ``delivery``,
``sweep`` (deemed acceptance and SLA status) and ``bundles`` (一件事一次办). Callers import
the package (``from yiwang.cases import services``) and use the names re-exported here.
"""

from yiwang.cases.services.acceptance import (
    case_accept,
    case_refuse,
    case_request_supplement,
    case_supplement_answer,
    hasattr_supplement,
)
from yiwang.cases.services.base import (
    clerk_saw_at_front_office,
    is_window_clerk,
    remedy_notice,
)
from yiwang.cases.services.bundles import (
    BUNDLE_NUMBER_PREFIX,
    case_bundle_submit,
)
from yiwang.cases.services.delivery import (
    CHANNEL_STEP_KINDS,
    DELIVERY_METHODS,
    case_channel_note,
    case_deliver,
    case_deliver_by_post,
    case_withdraw,
)
from yiwang.cases.services.drafts import (
    MAX_DRAFT_BYTES,
    MAX_DRAFTS_PER_APPLICANT,
    case_draft_delete,
    case_draft_save,
    case_draft_submit,
)
from yiwang.cases.services.files import (
    ALLOWED_TYPES,
    DEFAULT_MAX_MATERIAL_BYTES,
    ORPHAN_BATCH,
    ORPHAN_GRACE,
    MaterialUpload,
    case_material_add,
    case_material_orphans_purge,
    detect_content_type,
    max_material_bytes,
)
from yiwang.cases.services.payment_clock import (
    case_clock_pause_for_payment,
    case_clock_resume_after_payment,
    payment_pause_note,
    payment_resume_note,
)
from yiwang.cases.services.review import (
    OPINION_OUTCOMES,
    case_assign,
    case_claim,
    case_decide,
    case_extend,
    case_record_opinion,
    case_review_actions,
    decision_roles,
    review_steps,
)
from yiwang.cases.services.smart import (
    AUTO_DECISION_ACTOR,
    case_request_human_review,
    form_prefill,
    prefill_fields,
)
from yiwang.cases.services.submission import (
    case_submit,
    form_errors,
)
from yiwang.cases.services.sweep import (
    SWEEP_ACTOR,
    case_sweep,
)

__all__ = [
    "ALLOWED_TYPES",
    "AUTO_DECISION_ACTOR",
    "BUNDLE_NUMBER_PREFIX",
    "CHANNEL_STEP_KINDS",
    "DEFAULT_MAX_MATERIAL_BYTES",
    "DELIVERY_METHODS",
    "MAX_DRAFTS_PER_APPLICANT",
    "MAX_DRAFT_BYTES",
    "OPINION_OUTCOMES",
    "ORPHAN_BATCH",
    "ORPHAN_GRACE",
    "SWEEP_ACTOR",
    "MaterialUpload",
    "case_accept",
    "case_assign",
    "case_bundle_submit",
    "case_channel_note",
    "case_claim",
    "case_clock_pause_for_payment",
    "case_clock_resume_after_payment",
    "case_decide",
    "case_deliver",
    "case_deliver_by_post",
    "case_draft_delete",
    "case_draft_save",
    "case_draft_submit",
    "case_extend",
    "case_material_add",
    "case_material_orphans_purge",
    "case_record_opinion",
    "case_refuse",
    "case_request_human_review",
    "case_request_supplement",
    "case_review_actions",
    "case_submit",
    "case_supplement_answer",
    "case_sweep",
    "case_withdraw",
    "clerk_saw_at_front_office",
    "decision_roles",
    "detect_content_type",
    "form_errors",
    "form_prefill",
    "hasattr_supplement",
    "is_window_clerk",
    "max_material_bytes",
    "payment_pause_note",
    "payment_resume_note",
    "prefill_fields",
    "remedy_notice",
    "review_steps",
]
