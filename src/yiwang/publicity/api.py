"""政务公开 and 意见征集 endpoints of the JSON API, mounted at /api/v1/publicity/.

* Public: published policy documents (searched with the catalog's Chinese search, ``q``) with
  their 政策解读 and 政策问答; consultations with their draft, published comments (the author's
  name masked) and, once published, the summary of what was adopted and why.
* Signed in: a comment on an open consultation (public once moderated).
* The consulting department's admins (or a city admin above it): open a consultation, list
  every comment, publish or keep back a comment, close with the summary. Another department's
  consultation or comment answers 404, like a missing one.
"""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status as Respond

from yiwang.catalog.selectors import administered_departments
from yiwang.core.api_errors import ErrorOut
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.masking import mask_name
from yiwang.identity.auth import api_auth
from yiwang.publicity import selectors, services
from yiwang.publicity.models import Consultation, ConsultationComment, PolicyDocument

router = Router(tags=["publicity"])
WRITE = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
LIMIT = 100


class PublicityInterpretationOut(Schema):
    title: str
    body: str


class PublicityQuestionOut(Schema):
    question: str
    answer: str


class PublicityDocumentOut(Schema):
    id: int
    title: str
    doc_number: str = Field(description="文号")
    department: str = Field(description="Issuing department's code")
    department_name: str
    summary: str
    published_at: datetime.datetime | None
    score: int | None = Field(None, description="Search score (only when searched with q)")


class PublicityDocumentDetailOut(PublicityDocumentOut):
    body: str
    interpretations: list[PublicityInterpretationOut] = Field(description="政策解读")
    questions: list[PublicityQuestionOut] = Field(description="政策问答")


class PublicityConsultationOut(Schema):
    id: int
    title: str
    department: str
    department_name: str
    opens_on: datetime.date
    closes_on: datetime.date
    status: str = Field(description="open 征集中 | summarized 已公布采纳情况")
    accepting_comments: bool = Field(description="Open and within its period today")


class PublicityCommentOut(Schema):
    id: int
    author: str = Field(description="The author's masked name (张*)")
    body: str
    created_at: datetime.datetime
    adopted: bool | None = Field(description="Once the summary is published: adopted or not")
    response: str = Field(description="Why adopted or not")


class PublicityConsultationDetailOut(PublicityConsultationOut):
    description: str = Field(description="起草说明")
    draft_text: str = Field(description="草案全文")
    summary: str = Field(description="采纳情况说明 (once published)")
    summary_published_at: datetime.datetime | None
    comments: list[PublicityCommentOut] = Field(description="Published comments only")


class PublicityCommentIn(Schema):
    body: str = Field(max_length=services.MAX_COMMENT, description="Please do not write personal data")


class PublicityMyCommentOut(Schema):
    id: int
    consultation_id: int
    status: str = Field(description="pending 待审核 | published 已公开 | rejected 不予公开")
    created_at: datetime.datetime


class PublicityConsultationIn(Schema):
    title: str = Field(max_length=200)
    department: str = Field(max_length=40, description="Consulting department's id or code")
    description: str = Field("", max_length=20000, description="起草说明")
    draft_text: str = Field(max_length=200000, description="草案全文")
    opens_on: datetime.date
    closes_on: datetime.date


class PublicityAdminConsultationOut(PublicityConsultationOut):
    pending: int = Field(description="Comments waiting for moderation")


class PublicityAdminCommentOut(Schema):
    id: int
    consultation_id: int
    author: str = Field(description="The author's masked name")
    body: str
    status: str = Field(description="pending | published | rejected")
    moderation_note: str
    adopted: bool | None
    response: str
    created_at: datetime.datetime


class PublicityModerateIn(Schema):
    publish: bool = Field(description="True: publish; false: keep back (a note is then required)")
    note: str = Field("", max_length=200, description="Why it is kept back")


class PublicityDecisionIn(Schema):
    comment_id: int
    adopted: bool
    response: str = Field(max_length=2000, description="Why adopted or not")


class PublicitySummaryIn(Schema):
    summary: str = Field(max_length=20000, description="采纳情况说明")
    decisions: list[PublicityDecisionIn] = Field([], max_length=2000, description="One per published comment")


def _document_out(document: PolicyDocument, score: int | None = None) -> dict:
    return {
        "id": document.pk,
        "title": document.title,
        "doc_number": document.doc_number,
        "department": document.department.code,
        "department_name": document.department.name,
        "summary": document.summary,
        "published_at": document.published_at,
        "score": score,
    }


def _consultation_out(consultation: Consultation) -> dict:
    return {
        "id": consultation.pk,
        "title": consultation.title,
        "department": consultation.department.code,
        "department_name": consultation.department.name,
        "opens_on": consultation.opens_on,
        "closes_on": consultation.closes_on,
        "status": consultation.status,
        "accepting_comments": services.is_open(consultation),
    }


def _author(comment: ConsultationComment) -> str:
    return mask_name(comment.author.real_name or comment.author.username)


def _consultation_detail(consultation: Consultation) -> dict:
    return {
        **_consultation_out(consultation),
        "description": consultation.description,
        "draft_text": consultation.draft_text,
        "summary": consultation.summary,
        "summary_published_at": consultation.summary_published_at,
        "comments": [
            {
                "id": c.pk,
                "author": _author(c),
                "body": c.body,
                "created_at": c.created_at,
                "adopted": c.adopted,
                "response": c.response,
            }
            for c in selectors.comments_published(consultation=consultation)[:1000]
        ],
    }


def _admin_comment_out(comment: ConsultationComment) -> dict:
    return {
        "id": comment.pk,
        "consultation_id": comment.consultation_id,
        "author": _author(comment),
        "body": comment.body,
        "status": comment.status,
        "moderation_note": comment.moderation_note,
        "adopted": comment.adopted,
        "response": comment.response,
        "created_at": comment.created_at,
    }


# --- public ---------------------------------------------------------------------------------------


@router.get(
    "/documents",
    response=list[PublicityDocumentOut],
    auth=None,
    summary="Published policy documents: the latest, or found with q (the catalog's Chinese search)",
)
def publicity_documents(request: HttpRequest, q: str = ""):
    query = q.strip()[:60]
    if query:
        return [_document_out(h.document, h.score) for h in selectors.document_search(query, limit=LIMIT)]
    return [_document_out(d) for d in selectors.documents_published()[:LIMIT]]


@router.get(
    "/documents/{int:document_id}",
    response={200: PublicityDocumentDetailOut, 404: ErrorOut},
    auth=None,
    summary="A published document with its 政策解读 and 政策问答",
)
def publicity_document(request: HttpRequest, document_id: int):
    document = selectors.document_get_published(pk=document_id)
    return {
        **_document_out(document),
        "body": document.body,
        "interpretations": [{"title": i.title, "body": i.body} for i in document.interpretations.all()],
        "questions": [{"question": q.question, "answer": q.answer} for q in document.questions.all()],
    }


@router.get(
    "/consultations",
    response=list[PublicityConsultationOut],
    auth=None,
    summary="Consultations (意见征集), newest first",
)
def publicity_consultations(request: HttpRequest):
    return [_consultation_out(c) for c in selectors.consultations_public()[:LIMIT]]


@router.get(
    "/consultations/{int:consultation_id}",
    response={200: PublicityConsultationDetailOut, 404: ErrorOut},
    auth=None,
    summary="A consultation: draft, published comments, the summary once published",
)
def publicity_consultation(request: HttpRequest, consultation_id: int):
    return _consultation_detail(selectors.consultation_get_public(pk=consultation_id))


@router.post(
    "/consultations/{int:consultation_id}/comments",
    response={201: PublicityMyCommentOut, **WRITE},
    auth=api_auth,
    summary="Comment on an open consultation (shown once moderated)",
)
def publicity_comment_post(request: HttpRequest, consultation_id: int, payload: PublicityCommentIn):
    consultation = selectors.consultation_get_public(pk=consultation_id)
    comment = services.comment_post(actor=request.auth, consultation=consultation, body=payload.body)
    return Respond(
        201,
        {
            "id": comment.pk,
            "consultation_id": consultation.pk,
            "status": comment.status,
            "created_at": comment.created_at,
        },
    )


# --- the consulting department's admins ------------------------------------------------------------


def _department(actor, value: str):
    """One of the departments the actor administers, by id or code. Someone who administers none
    gets 404 (as the workbench page); another department is a 422 naming the field."""
    value = (value or "").strip()
    rows = administered_departments(actor=actor)
    if not rows.exists():
        raise NotFound()
    by_pk = value.isascii() and value.isdigit() and len(value) <= 9
    found = rows.filter(code=value).first() or (rows.filter(pk=int(value)).first() if by_pk else None)
    if found is None:
        raise ValidationFailed(fields={"department": [_("请选择您管理的部门")]})
    return found


@router.post(
    "/consultations",
    response={201: PublicityAdminConsultationOut, **WRITE},
    auth=api_auth,
    summary="Open a consultation on a draft (the department's admins)",
)
def publicity_consultation_open(request: HttpRequest, payload: PublicityConsultationIn):
    consultation = services.consultation_open(
        actor=request.auth,
        department=_department(request.auth, payload.department),
        title=payload.title,
        description=payload.description,
        draft_text=payload.draft_text,
        opens_on=payload.opens_on,
        closes_on=payload.closes_on,
    )
    return Respond(201, {**_consultation_out(consultation), "pending": 0})


@router.get(
    "/admin/consultations",
    response={200: list[PublicityAdminConsultationOut], 401: ErrorOut},
    auth=api_auth,
    summary="The consultations of the departments I administer, with the comments waiting",
)
def publicity_admin_consultations(request: HttpRequest):
    rows = selectors.consultations_for_admin(actor=request.auth)[:LIMIT]
    return [{**_consultation_out(c), "pending": c.pending} for c in rows]


@router.get(
    "/admin/consultations/{int:consultation_id}/comments",
    response={200: list[PublicityAdminCommentOut], 401: ErrorOut, 404: ErrorOut},
    auth=api_auth,
    summary="Every comment of a consultation of mine, for moderation",
)
def publicity_admin_comments(request: HttpRequest, consultation_id: int, status: str = ""):
    consultation = selectors.consultation_get_for_admin(actor=request.auth, pk=consultation_id)
    rows = consultation.comments.select_related("author")
    if status:
        rows = rows.filter(status=status[:10])
    return [_admin_comment_out(c) for c in rows[:1000]]


@router.post(
    "/comments/{int:comment_id}/moderate",
    response={200: PublicityAdminCommentOut, **WRITE},
    auth=api_auth,
    summary="Publish a comment, or keep it back with a reason",
)
def publicity_comment_moderate(request: HttpRequest, comment_id: int, payload: PublicityModerateIn):
    comment = selectors.comment_get_for_admin(actor=request.auth, pk=comment_id)
    comment = services.comment_moderate(actor=request.auth, comment=comment, publish=payload.publish, note=payload.note)
    return _admin_comment_out(ConsultationComment.objects.select_related("author").get(pk=comment.pk))


@router.post(
    "/consultations/{int:consultation_id}/summary",
    response={200: PublicityConsultationDetailOut, **WRITE},
    auth=api_auth,
    summary="Close the consultation with the published summary of what was adopted and why",
)
def publicity_consultation_summarize(request: HttpRequest, consultation_id: int, payload: PublicitySummaryIn):
    """Every published comment needs a decision (adopted or not, with the reason); no comment may
    still wait for moderation; only once (409 ``already_summarized``)."""
    consultation = selectors.consultation_get_for_admin(actor=request.auth, pk=consultation_id)
    consultation = services.consultation_summarize(
        actor=request.auth,
        consultation=consultation,
        summary=payload.summary,
        decisions={d.comment_id: (d.adopted, d.response) for d in payload.decisions},
    )
    return _consultation_detail(selectors.consultation_get_public(pk=consultation.pk))
