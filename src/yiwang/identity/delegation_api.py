"""Delegation (授权代办) and 帮办 in the JSON API, on identity's router (``identity.api``).

The principal (an enterprise account or a citizen) gives and revokes delegations; the agent
lists what they hold, follows the principal's cases in scope and applies for the principal;
a window clerk asks a citizen's consent for 帮办, the citizen answers with a code shown once on
their phone, and the clerk applies on the citizen's own account. Thin: identity's selectors and
services decide; the application goes through ``cases.services.case_submit(acting_for=...)``.
"""

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Header, Schema
from ninja.decorators import decorate_view
from ninja.files import UploadedFile
from ninja.responses import Status as Respond

from yiwang.core.api_errors import ErrorOut
from yiwang.core.errors import NotFound
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.identity import selectors, services
from yiwang.identity.auth import api_auth, check_before_body
from yiwang.identity.models import AssistConsent, Delegation

READ = {401: ErrorOut, 404: ErrorOut}
WRITE = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class DelegationOut(Schema):
    id: int
    kind: str = Field(description="enterprise | family")
    kind_label: str
    relation: str
    relation_label: str
    principal_name: str = Field(description="The enterprise's name, or the citizen's (masked)")
    principal_uscc: str = Field(description="统一社会信用代码 of an enterprise principal; empty for a citizen")
    agent_name_masked: str
    agent_id_number_masked: str
    all_items: bool
    item_codes: list[str]
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None
    live: bool = Field(description="In force now: not revoked, between valid_from and valid_until")


class DelegationIn(Schema):
    agent_id_number: str = Field(description="The agent's 身份证号 (an existing citizen account)")
    agent_name: str = Field(description="The agent's name, as on the account: both must match")
    relation: str = Field(description="employee | agency (enterprise); spouse | parent | child | relative (citizen)")
    all_items: bool = False
    item_codes: list[str] = Field(default_factory=list, description="Implementation codes, unless all_items")
    valid_from: datetime | None = Field(None, description="Default: now")
    valid_until: datetime


class DelegatedStepOut(Schema):
    label: str
    note: str
    actor_name: str
    at: datetime


class DelegatedCaseOut(Schema):
    id: int
    number: str | None
    item_code: str
    item_name: str
    department_name: str
    state: str
    state_label: str
    submitted_at: datetime | None
    due_date: datetime | None = None
    timeline: list[DelegatedStepOut] = Field(default_factory=list, description="Public steps; in lists: empty")


class DelegatedApplyIn(Schema):
    item: str = Field(description="The item's implementation code")
    form_data: dict = Field(default_factory=dict)
    idempotency_key: str = ""


class DelegatedMaterialOut(Schema):
    id: int
    requirement_id: int | None
    name: str
    size: int
    content_type: str
    sm3: str
    uploaded_at: datetime


class DelegatedAnswerIn(Schema):
    note: str = Field("", description="What was supplied (补正说明)")
    version: int | None = Field(None, description="The case's version last seen; a stale one is 409 case_changed")


class DelegatedWithdrawIn(Schema):
    reason: str = ""
    version: int | None = Field(None, description="The case's version last seen; a stale one is 409 case_changed")


class AssistRequestIn(Schema):
    id_number: str = Field(description="The citizen's 身份证号")
    name: str = Field(description="The citizen's name: both must match an active citizen account")


class AssistOut(Schema):
    id: int
    citizen_name_masked: str
    clerk_name: str
    requested_at: datetime
    code_expires_at: datetime | None
    confirmed_at: datetime | None
    act_until: datetime | None
    closed_at: datetime | None
    failed_tries: int


class AssistCodeOut(Schema):
    code: str = Field(description="Shown once: tell it to the clerk at the window. Never stored in clear.")
    expires_at: datetime


class AssistVerifyIn(Schema):
    code: str


def delegation_data(delegation: Delegation, now=None) -> dict:
    from django.utils import timezone

    principal = delegation.principal
    enterprise = delegation.kind == Delegation.Kind.ENTERPRISE
    return {
        "id": delegation.pk,
        "kind": delegation.kind,
        "kind_label": delegation.get_kind_display(),
        "relation": delegation.relation,
        "relation_label": delegation.get_relation_display(),
        "principal_name": principal.enterprise_name if enterprise else mask_name(principal.real_name),
        "principal_uscc": principal.enterprise_uscc if enterprise else "",
        "agent_name_masked": mask_name(delegation.agent.real_name),
        "agent_id_number_masked": mask_id_number(delegation.agent.id_number),
        "all_items": delegation.all_items,
        "item_codes": list(delegation.item_codes or []),
        "valid_from": delegation.valid_from,
        "valid_until": delegation.valid_until,
        "revoked_at": delegation.revoked_at,
        "live": delegation.is_live(now or timezone.now()),
    }


def delegated_case_data(case, *, timeline: bool) -> dict:
    steps = []
    if timeline:
        steps = [
            {"label": s.get_kind_display(), "note": s.note, "actor_name": s.actor_name, "at": s.created_at}
            for s in case.steps.filter(public=True).order_by("id")
        ]
    return {
        "id": case.pk,
        "number": case.number,
        "item_code": case.item_version.item.implementation_code,
        "item_name": case.item_version.name,
        "department_name": case.department.name,
        "state": case.state,
        "state_label": case.get_state_display(),
        "submitted_at": case.submitted_at,
        "due_date": getattr(case, "due_date", None),
        "timeline": steps,
    }


def _acting_case(actor, delegation_id: int, case_id: int):
    """(delegation, case) through which the agent acts on a case he submitted for the principal:
    the delegation his and in force, the case in its scope; ``NotFound`` otherwise."""
    from yiwang.cases import selectors as case_selectors

    delegation = selectors.delegation_for_agent(actor=actor, id=delegation_id)
    return delegation, case_selectors.case_get_for_delegation(delegation=delegation, case_id=case_id, acting=True)


def _acting_case_known(request: HttpRequest, user, delegation_id: int, case_id: int, **_path) -> None:
    """Before a material's bytes are read: the caller may act on the case through the delegation."""
    _acting_case(user, delegation_id, case_id)


def assist_data(consent: AssistConsent) -> dict:
    return {
        "id": consent.pk,
        "citizen_name_masked": mask_name(consent.citizen.real_name),
        "clerk_name": consent.clerk.real_name or consent.clerk.username,
        "requested_at": consent.requested_at,
        "code_expires_at": consent.code_expires_at,
        "confirmed_at": consent.confirmed_at,
        "act_until": consent.act_until,
        "closed_at": consent.closed_at,
        "failed_tries": consent.failed_tries,
    }


def _published(code: str):
    from yiwang.catalog import selectors as catalog_selectors

    try:
        return catalog_selectors.item_get_published(implementation_code=(code or "").strip())
    except NotFound:
        raise NotFound(_("该事项未发布或已停用。"), code="item_not_found") from None


def apply_for(*, actor, acting_for, item_code: str, form_data: dict, idempotency_key: str = ""):
    """Submit online for the principal/citizen of ``acting_for`` (identity checks first, then
    ``cases.services.case_submit``, which checks again and marks the case)."""
    from yiwang.cases import services as case_services

    return case_services.case_submit(
        actor=actor,
        item=_published(item_code),
        form_data=form_data,
        acting_for=acting_for,
        idempotency_key=idempotency_key,
    )


def register(router) -> None:
    """Add the operations to identity's router (called by ``identity.api``)."""

    @router.get(
        "/delegations/given",
        response={200: list[DelegationOut], 401: ErrorOut},
        auth=api_auth,
        summary="Delegations I gave",
    )
    def delegation_list_given(request: HttpRequest):
        """The delegations the signed-in enterprise account or citizen gave (revoked ones included)."""
        return [delegation_data(d) for d in selectors.delegations_given(actor=request.auth)[:200]]

    @router.get(
        "/delegations/held",
        response={200: list[DelegationOut], 401: ErrorOut},
        auth=api_auth,
        summary="Delegations I hold",
    )
    def delegation_list_held(request: HttpRequest):
        """The delegations the signed-in user holds as agent (the switcher); ``live`` tells which act now."""
        return [delegation_data(d) for d in selectors.delegations_held(actor=request.auth)[:200]]

    @router.post("/delegations", response={201: DelegationOut, **WRITE}, auth=api_auth, summary="Authorize an agent")
    def delegation_create(request: HttpRequest, payload: DelegationIn):
        """An enterprise account (its legal representative) or a citizen authorizes an agent for some
        items (or all) from ``valid_from`` to ``valid_until``. Audited as ``delegation.create``."""
        delegation = services.delegation_create(actor=request.auth, **payload.dict())
        return Respond(201, delegation_data(delegation))

    @router.get("/delegations/{int:delegation_id}", response={200: DelegationOut, **READ}, auth=api_auth)
    def delegation_detail(request: HttpRequest, delegation_id: int):
        """One delegation, for its principal or its agent (404 for anyone else)."""
        return delegation_data(selectors.delegation_get(actor=request.auth, id=delegation_id))

    @router.post(
        "/delegations/{int:delegation_id}/revoke",
        response={200: DelegationOut, **WRITE},
        auth=api_auth,
        summary="Revoke",
    )
    def delegation_revoke(request: HttpRequest, delegation_id: int):
        """The principal revokes (the agent may renounce) at any time; idempotent."""
        delegation = selectors.delegation_get(actor=request.auth, id=delegation_id)
        return delegation_data(services.delegation_revoke(actor=request.auth, delegation=delegation))

    @router.get(
        "/delegations/{int:delegation_id}/cases",
        response={200: list[DelegatedCaseOut], **READ},
        auth=api_auth,
        summary="The principal's cases in the delegation's scope (agent)",
    )
    def delegation_cases(request: HttpRequest, delegation_id: int):
        """For the agent while the delegation is in force: the principal's cases of the covered items."""
        from yiwang.cases import selectors as case_selectors

        delegation = selectors.delegation_for_agent(actor=request.auth, id=delegation_id)
        cases = case_selectors.cases_for_delegation(delegation=delegation)[:100]
        return [delegated_case_data(c, timeline=False) for c in cases]

    @router.get(
        "/delegations/{int:delegation_id}/cases/{int:case_id}",
        response={200: DelegatedCaseOut, **READ},
        auth=api_auth,
        summary="One of the principal's cases (agent)",
    )
    def delegation_case_detail(request: HttpRequest, delegation_id: int, case_id: int):
        """With its public timeline (which shows who acted for whom). 404 outside scope or period."""
        from yiwang.cases import selectors as case_selectors

        delegation = selectors.delegation_for_agent(actor=request.auth, id=delegation_id)
        case = case_selectors.case_get_for_delegation(delegation=delegation, case_id=case_id)
        return delegated_case_data(case, timeline=True)

    @router.post(
        "/delegations/{int:delegation_id}/cases",
        response={200: DelegatedCaseOut, 201: DelegatedCaseOut, **WRITE},
        auth=api_auth,
        summary="Apply for the principal (agent)",
    )
    def delegation_apply(
        request: HttpRequest,
        delegation_id: int,
        payload: DelegatedApplyIn,
        idempotency_key: str = Header("", alias="Idempotency-Key"),
    ):
        """Submit online for the principal through the delegation (in force, covering the item):
        the case is the principal's; its timeline and audit name the agent. 404 otherwise."""
        delegation = selectors.delegation_for_agent(actor=request.auth, id=delegation_id, item_code=payload.item)
        case, created = apply_for(
            actor=request.auth,
            acting_for=delegation,
            item_code=payload.item,
            form_data=payload.form_data,
            idempotency_key=idempotency_key or payload.idempotency_key,
        )
        return Respond(201 if created else 200, delegated_case_data(case, timeline=True))

    @router.post(
        "/delegations/{int:delegation_id}/cases/{int:case_id}/materials",
        response={201: DelegatedMaterialOut, **WRITE},
        auth=api_auth,
        summary="Upload a material for the principal (agent)",
    )
    @decorate_view(check_before_body(_acting_case_known))
    def delegation_case_material(
        request: HttpRequest,
        delegation_id: int,
        case_id: int,
        file: File[UploadedFile],
        requirement_id: Form[int | None] = None,
        name: Form[str] = "",
    ):
        """One file for a case the agent submitted for the principal, before acceptance or while a
        supplement is outstanding (PDF, JPEG, PNG or OFD, detected from the content). The step and
        the audit event say 代办. 404 outside the delegation's scope or period, or for a case
        another submitted."""
        from yiwang.cases import services as case_services

        delegation, case = _acting_case(request.auth, delegation_id, case_id)
        content = file.read(case_services.max_material_bytes() + 1)
        material = case_services.case_material_add(
            actor=request.auth,
            case_id=case.pk,
            requirement_id=requirement_id,
            filename=file.name or "",
            content=content,
            name=name,
            acting_for=delegation,
        )
        return Respond(201, material)

    @router.post(
        "/delegations/{int:delegation_id}/cases/{int:case_id}/supplement/answer",
        response={200: DelegatedCaseOut, **WRITE},
        auth=api_auth,
        summary="Answer the supplement request for the principal (agent)",
    )
    def delegation_case_supplement_answer(
        request: HttpRequest, delegation_id: int, case_id: int, payload: DelegatedAnswerIn
    ):
        """补正 handed in by the agent (upload the files first through ``…/materials``): the case goes
        back to intake or review and its clock resumes; the step and ``case.supplement_answer``'s
        audit event carry ``on_behalf_of``. 404 as for the materials."""
        from yiwang.cases import services as case_services

        delegation, case = _acting_case(request.auth, delegation_id, case_id)
        case_services.case_supplement_answer(
            actor=request.auth,
            case_id=case.pk,
            note=payload.note,
            expected_version=payload.version,
            acting_for=delegation,
        )
        case.refresh_from_db()
        return delegated_case_data(case, timeline=True)

    @router.post(
        "/delegations/{int:delegation_id}/cases/{int:case_id}/withdraw",
        response={200: DelegatedCaseOut, **WRITE},
        auth=api_auth,
        summary="Withdraw the principal's application (agent)",
    )
    def delegation_case_withdraw(request: HttpRequest, delegation_id: int, case_id: int, payload: DelegatedWithdrawIn):
        """撤回 before a decision, by the agent who submitted it, while the delegation is in force
        and covers the item; ``case.withdraw``'s audit event carries ``on_behalf_of``. 404 otherwise."""
        from yiwang.cases import services as case_services

        delegation, case = _acting_case(request.auth, delegation_id, case_id)
        case_services.case_withdraw(
            actor=request.auth,
            case_id=case.pk,
            reason=payload.reason,
            expected_version=payload.version,
            acting_for=delegation,
        )
        case.refresh_from_db()
        return delegated_case_data(case, timeline=True)

    # --- 帮办 ---

    @router.post("/assist", response={201: AssistOut, **WRITE}, auth=api_auth, summary="Ask a citizen's 帮办 consent")
    def assist_request(request: HttpRequest, payload: AssistRequestIn):
        """A window clerk asks to fill in for a citizen on the citizen's own account (the citizen is notified)."""
        consent = services.assist_request(actor=request.auth, id_number=payload.id_number, name=payload.name)
        return Respond(201, assist_data(consent))

    @router.get(
        "/assist/requests", response={200: list[AssistOut], 401: ErrorOut}, auth=api_auth, summary="帮办 requests to me"
    )
    def assist_requests(request: HttpRequest):
        """The signed-in citizen's 帮办 requests of the last two hours."""
        return [assist_data(c) for c in selectors.assist_consents_for_citizen(actor=request.auth)[:20]]

    @router.post(
        "/assist/{int:consent_id}/consent", response={200: AssistCodeOut, **WRITE}, auth=api_auth, summary="Agree"
    )
    def assist_consent(request: HttpRequest, consent_id: int):
        """The citizen agrees: the six-digit consent code, shown once (only its digest is kept)."""
        consent = selectors.assist_consent_get(actor=request.auth, id=consent_id, as_clerk=False)
        code = services.assist_code_issue(actor=request.auth, consent=consent)
        consent.refresh_from_db()
        return {"code": code, "expires_at": consent.code_expires_at}

    @router.post("/assist/{int:consent_id}/decline", response={204: None, **WRITE}, auth=api_auth, summary="Refuse")
    def assist_decline(request: HttpRequest, consent_id: int):
        """The citizen refuses or withdraws the consent."""
        consent = selectors.assist_consent_get(actor=request.auth, id=consent_id, as_clerk=False)
        services.assist_decline(actor=request.auth, consent=consent)
        return Respond(204, None)

    @router.post(
        "/assist/{int:consent_id}/verify", response={200: AssistOut, **WRITE}, auth=api_auth, summary="Check the code"
    )
    def assist_verify(request: HttpRequest, consent_id: int, payload: AssistVerifyIn):
        """The clerk types the citizen's code (limited tries; it expires)."""
        consent = selectors.assist_consent_get(actor=request.auth, id=consent_id, as_clerk=True)
        return assist_data(services.assist_verify(actor=request.auth, consent=consent, code=payload.code))

    @router.post(
        "/assist/{int:consent_id}/cases",
        response={200: DelegatedCaseOut, 201: DelegatedCaseOut, **WRITE},
        auth=api_auth,
        summary="Apply on the citizen's account (帮办)",
    )
    def assist_apply(request: HttpRequest, consent_id: int, payload: DelegatedApplyIn):
        """The clerk submits online on the citizen's own account under a confirmed consent; the
        case's timeline says 窗口帮办 and names the clerk."""
        consent = selectors.assist_consent_for_acting(actor=request.auth, id=consent_id)
        case, created = apply_for(
            actor=request.auth,
            acting_for=consent,
            item_code=payload.item,
            form_data=payload.form_data,
            idempotency_key=payload.idempotency_key,
        )
        return Respond(201 if created else 200, delegated_case_data(case, timeline=True))
