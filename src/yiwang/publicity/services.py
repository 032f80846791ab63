"""Writes of 政务公开 and 意见征集, each audited (``core.audit``) in its transaction.

Who may: a department admin of the issuing (or consulting) department, or a city admin above
it — the catalog's rule (``catalog.selectors.may_administer``); ``actor=None`` is the platform
itself (the demo loader). Anyone signed in may comment on an open consultation.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.catalog.selectors import may_administer, search_postings
from yiwang.core.audit import audit_record
from yiwang.core.errors import Conflict, Forbidden, NotAuthenticated, ValidationFailed
from yiwang.core.inputs import ensure_storable
from yiwang.publicity.models import (
    Consultation,
    ConsultationComment,
    DocumentTerm,
    Interpretation,
    PolicyDocument,
    PolicyQuestion,
)

MAX_COMMENT = 2000


def _require_admin(actor, department) -> None:
    if not may_administer(actor=actor, department=department):
        raise Forbidden(_("您不是部门「%(name)s」的管理员。") % {"name": department.name}, code="not_department_admin")


def _text(value, field: str, label: str, *, required: bool = True, limit: int | None = None) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(fields={field: [_("请填写%(label)s") % {"label": label}]})
    if limit and len(text) > limit:
        raise ValidationFailed(fields={field: [_("%(label)s不能超过 %(n)d 个字") % {"label": label, "n": limit}]})
    ensure_storable(text, field=field)
    return text


def index_document(document: PolicyDocument) -> int:
    """Rewrite the document's search postings: title, 文号, department, interpretation and Q&A,
    body; the catalog's terms (jieba words, bigrams, pinyin of the title)."""
    fields = [("name", document.title), ("keyword", document.doc_number), ("department", document.department.name)]
    fields += [("alias", i.title) for i in document.interpretations.all()]
    fields += [("description", i.body) for i in document.interpretations.all()]
    fields += [("keyword", q.question) for q in document.questions.all()]
    fields += [("description", q.answer) for q in document.questions.all()]
    fields += [("description", document.summary), ("description", document.body)]
    postings = search_postings(fields)
    DocumentTerm.objects.filter(document=document).delete()
    DocumentTerm.objects.bulk_create([DocumentTerm(document=document, term=t, weight=w) for t, w in postings.items()])
    return len(postings)


@transaction.atomic
def document_publish(
    *,
    actor,
    department,
    title: str,
    body: str,
    doc_number: str = "",
    summary: str = "",
    interpretations: list[tuple[str, str]] = (),
    questions: list[tuple[str, str]] = (),
) -> PolicyDocument:
    """Publish a policy document with its interpretation(s) and Q&A, searchable at once."""
    _require_admin(actor, department)
    title = _text(title, "title", _("标题"), limit=200)
    body = _text(body, "body", _("正文"))
    doc_number = _text(doc_number, "doc_number", _("文号"), required=False, limit=100)
    summary = _text(summary, "summary", _("摘要"), required=False, limit=300)
    if not interpretations:
        raise ValidationFailed(fields={"interpretations": [_("政策文件须与解读同步发布")]})
    document = PolicyDocument.objects.create(
        title=title,
        doc_number=doc_number,
        department=department,
        summary=summary,
        body=body,
        published_at=timezone.now(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    for n, (i_title, i_body) in enumerate(interpretations):
        Interpretation.objects.create(
            document=document,
            title=_text(i_title, f"interpretations.{n}.title", _("解读标题"), limit=200),
            body=_text(i_body, f"interpretations.{n}.body", _("解读内容")),
            sort=n,
        )
    for n, (question, answer) in enumerate(questions):
        PolicyQuestion.objects.create(
            document=document,
            question=_text(question, f"questions.{n}.question", _("问题"), limit=300),
            answer=_text(answer, f"questions.{n}.answer", _("回答")),
            sort=n,
        )
    index_document(document)
    audit_record(
        actor=actor,
        action="publicity.document_publish",
        obj=document,
        changes={"doc_number": doc_number, "interpretations": len(interpretations), "questions": len(questions)},
    )
    return document


@transaction.atomic
def consultation_open(
    *,
    actor,
    department,
    title: str,
    draft_text: str,
    opens_on: datetime.date,
    closes_on: datetime.date,
    description: str = "",
) -> Consultation:
    """Put a draft out for public comment (意见征集), open from ``opens_on`` to ``closes_on``.
    Every bad field is named at once (``ValidationFailed.fields``), and nothing is stored."""
    _require_admin(actor, department)
    errors: dict[str, list] = {}

    def checked(value, field: str, label: str, **options) -> str:
        try:
            return _text(value, field, label, **options)
        except ValidationFailed as exc:
            errors.update(exc.fields or {field: [exc.message]})
            return ""

    title = checked(title, "title", _("标题"), limit=200)
    description = checked(description, "description", _("起草说明"), required=False)
    draft_text = checked(draft_text, "draft_text", _("草案全文"))
    if closes_on < opens_on:
        errors["closes_on"] = [_("截止日期不能早于开始日期")]
    if errors:
        raise ValidationFailed(fields=errors)
    consultation = Consultation.objects.create(
        title=title,
        department=department,
        description=description,
        draft_text=draft_text,
        opens_on=opens_on,
        closes_on=closes_on,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        actor=actor,
        action="publicity.consultation_open",
        obj=consultation,
        changes={"opens_on": opens_on.isoformat(), "closes_on": closes_on.isoformat()},
    )
    return consultation


def is_open(consultation: Consultation, today: datetime.date | None = None) -> bool:
    today = today or timezone.localdate()
    return consultation.status == Consultation.Status.OPEN and consultation.opens_on <= today <= consultation.closes_on


@transaction.atomic
def comment_post(*, actor, consultation: Consultation, body: str) -> ConsultationComment:
    """A signed-in person's comment; public only once a moderator publishes it."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if not is_open(consultation):
        raise Conflict(_("该意见征集不在征集期内,不能再提交意见。"), code="consultation_closed")
    comment = ConsultationComment.objects.create(
        consultation=consultation, author=actor, body=_text(body, "body", _("意见内容"), limit=MAX_COMMENT)
    )
    audit_record(actor=actor, action="publicity.comment_post", obj=comment, changes={"consultation": consultation.pk})
    return comment


@transaction.atomic
def comment_moderate(*, actor, comment: ConsultationComment, publish: bool, note: str = "") -> ConsultationComment:
    """Publish a comment, or keep it unpublished with a reason (abuse, personal data, off topic)."""
    _require_admin(actor, comment.consultation.department)
    comment = ConsultationComment.objects.select_for_update(no_key=True).get(pk=comment.pk)
    note = _text(note, "note", _("审核说明"), required=not publish, limit=200)
    comment.status = ConsultationComment.Status.PUBLISHED if publish else ConsultationComment.Status.REJECTED
    comment.moderation_note = note
    comment.moderated_by = actor if getattr(actor, "is_authenticated", False) else None
    comment.save(update_fields=["status", "moderation_note", "moderated_by"])
    audit_record(actor=actor, action="publicity.comment_moderate", obj=comment, changes={"status": comment.status})
    return comment


@transaction.atomic
def consultation_summarize(
    *, actor, consultation: Consultation, summary: str, decisions: dict[int, tuple[bool, str]]
) -> Consultation:
    """Close the consultation and publish what was adopted and why: the overall summary and, for
    every published comment, adopted or not with the reason. Every published comment must be
    answered; pending ones must be moderated first. Only once."""
    _require_admin(actor, consultation.department)
    consultation = Consultation.objects.select_for_update(no_key=True).get(pk=consultation.pk)
    if consultation.status == Consultation.Status.SUMMARIZED:
        raise Conflict(_("采纳情况已公布。"), code="already_summarized")
    comments = list(consultation.comments.exclude(status=ConsultationComment.Status.REJECTED))
    errors: dict[str, list[str]] = {}
    if any(c.status == ConsultationComment.Status.PENDING for c in comments):
        errors["comments"] = [_("还有待审核的意见,请先审核")]
    for c in comments:
        if c.status != ConsultationComment.Status.PUBLISHED:
            continue
        adopted, reason = decisions.get(c.pk, (None, ""))
        if adopted is None or not (reason or "").strip():
            errors.setdefault(f"comments.{c.pk}", []).append(_("请说明是否采纳及理由"))
    summary = (summary or "").strip()
    if not summary:
        errors["summary"] = [_("请填写采纳情况说明")]
    if errors:
        raise ValidationFailed(_("采纳情况说明不完整"), fields=errors)
    ensure_storable(summary, field="summary")
    adopted_count = 0
    for c in comments:
        if c.status == ConsultationComment.Status.PUBLISHED:
            c.adopted, c.response = decisions[c.pk][0], decisions[c.pk][1].strip()
            ensure_storable(c.response, field=f"comments.{c.pk}")
            c.save(update_fields=["adopted", "response"])
            adopted_count += int(c.adopted)
    consultation.status = Consultation.Status.SUMMARIZED
    consultation.summary = summary
    consultation.summary_published_at = timezone.now()
    consultation.save(update_fields=["status", "summary", "summary_published_at"])
    audit_record(
        actor=actor,
        action="publicity.consultation_summarize",
        obj=consultation,
        changes={"adopted": adopted_count, "answered": sum(1 for c in comments if c.adopted is not None)},
    )
    return consultation
