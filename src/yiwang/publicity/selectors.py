"""Reads of 政务公开 and 意见征集. Public reads see published documents and the published
comments; workbench reads see only the departments the actor administers (another
department's consultation is a 404, like a missing one)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from yiwang.catalog.selectors import administered_departments, search_min_relative_score, search_query_weights
from yiwang.core.errors import NotFound
from yiwang.publicity.models import Consultation, ConsultationComment, DocumentTerm, PolicyDocument

MAX_RESULTS = 50


@dataclass
class DocumentHit:
    document: PolicyDocument
    score: int


def documents_published() -> QuerySet[PolicyDocument]:
    return PolicyDocument.objects.filter(published_at__isnull=False).select_related("department")


def document_search(query: str, *, limit: int = MAX_RESULTS) -> list[DocumentHit]:
    """Published documents matching ``query`` with the catalog's Chinese search (same
    normalization, jieba words, bigrams, pinyin and synonyms), best first; results under
    the catalog's cut-off % of the best are noise and dropped."""
    weights = search_query_weights(query or "")
    if not weights:
        return []
    scores: dict[int, int] = {}
    for document_id, term, weight in DocumentTerm.objects.filter(term__in=list(weights)).values_list(
        "document_id", "term", "weight"
    ):
        scores[document_id] = scores.get(document_id, 0) + weight * weights[term]
    if not scores:
        return []
    best = max(scores.values())
    cut = search_min_relative_score()
    kept = {pk: s for pk, s in scores.items() if s * 100 >= best * cut}
    documents = documents_published().in_bulk(list(kept))
    hits = [DocumentHit(documents[pk], s) for pk, s in kept.items() if pk in documents]
    hits.sort(key=lambda h: (-h.score, -h.document.pk))
    return hits[:limit]


def document_get_published(*, pk) -> PolicyDocument:
    document = documents_published().prefetch_related("interpretations", "questions").filter(pk=pk).first()
    if document is None:
        raise NotFound(_("未找到该政策文件。"), code="document_not_found")
    return document


def consultations_public() -> QuerySet[Consultation]:
    return Consultation.objects.select_related("department")


def consultation_get_public(*, pk) -> Consultation:
    consultation = consultations_public().filter(pk=pk).first()
    if consultation is None:
        raise NotFound(_("未找到该意见征集。"), code="consultation_not_found")
    return consultation


def comments_published(*, consultation: Consultation) -> QuerySet[ConsultationComment]:
    return consultation.comments.filter(status=ConsultationComment.Status.PUBLISHED).select_related("author")


def consultations_for_admin(*, actor) -> QuerySet[Consultation]:
    pending = Count("comments", filter=Q(comments__status=ConsultationComment.Status.PENDING))
    return (
        Consultation.objects.filter(department__in=administered_departments(actor=actor))
        .select_related("department")
        .annotate(pending=pending)
    )


def consultation_get_for_admin(*, actor, pk) -> Consultation:
    consultation = consultations_for_admin(actor=actor).filter(pk=pk).first()
    if consultation is None:
        raise NotFound(_("未找到该意见征集。"), code="consultation_not_found")
    return consultation


def comment_get_for_admin(*, actor, pk) -> ConsultationComment:
    comment = (
        ConsultationComment.objects.filter(consultation__department__in=administered_departments(actor=actor), pk=pk)
        .select_related("consultation__department")
        .first()
    )
    if comment is None:
        raise NotFound(_("未找到该意见。"), code="comment_not_found")
    return comment
