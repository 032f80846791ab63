"""Issue #18, 政务公开 and 意见征集: documents published with their interpretation and Q&A and
found with the catalog's Chinese search; a consultation's comments moderated before they show;
a published summary of what was adopted and why."""

import pytest
from django.test import Client

from yiwang.core.errors import Conflict, Forbidden, NotAuthenticated, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity import mfa
from yiwang.publicity import selectors, services
from yiwang.publicity.models import Consultation, ConsultationComment
from yiwang.publicity.tests.conftest import days

BODY = "为推进个体工商户登记便利化，经营者变更的可直接办理变更登记，住所实行申报承诺制。"


def publish(world, **extra):
    data = {
        "title": "关于个体工商户登记便利化的通知",
        "doc_number": "苏市监发〔2026〕1号",
        "body": BODY,
        "interpretations": [("政策解读：开个体户更方便了", "以前换经营者要先注销再设立，现在直接办变更。")],
        "questions": [("住所需要产权证明吗？", "不需要，实行申报承诺制。")],
        **extra,
    }
    return services.document_publish(actor=world.admin, department=world.tree.city_market, **data)


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
        session = client.session
        session[mfa.SESSION_VERIFIED] = True  # staff sign in with a second factor (tested in identity)
        session.save()
    return client


def test_a_document_is_published_with_its_interpretation_and_found_in_plain_words(world):
    document = publish(world)
    publish(
        world,
        title="关于开展安全生产大检查的通知",
        doc_number="",
        body="各单位开展安全生产检查。",
        interpretations=[("解读", "检查范围包括危险化学品企业。")],
        questions=[],
    )
    for query in ("个体户", "开个体户", "经营者变更", "住所 产权证明", "个体工商户登记"):
        hits = selectors.document_search(query)
        assert hits and hits[0].document == document, query
    assert [h.document.title for h in selectors.document_search("安全生产")] == ["关于开展安全生产大检查的通知"]
    assert selectors.document_search("量子计算机") == []
    assert AuditEvent.objects.filter(action="publicity.document_publish").count() == 2
    page = client_for().get(f"/publicity/documents/{document.pk}/").content.decode()
    assert "政策解读：开个体户更方便了" in page and "住所需要产权证明吗？" in page and "苏市监发〔2026〕1号" in page
    results = client_for().get("/publicity/", {"q": "开个体户"}).content.decode()
    assert document.title in results and "关于开展安全生产大检查的通知" not in results
    nothing = client_for().get("/publicity/", {"q": "量子计算机"}).content.decode()
    assert "12345" in nothing  # an unknown need points to the hotline


def test_publishing_needs_the_departments_admin_and_an_interpretation(world):
    with pytest.raises(Forbidden):
        services.document_publish(
            actor=world.other_admin,
            department=world.tree.city_market,
            title="t",
            body="b",
            interpretations=[("a", "b")],
        )
    with pytest.raises(ValidationFailed) as exc:
        services.document_publish(actor=world.admin, department=world.tree.city_market, title="t", body="b")
    assert "interpretations" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.document_publish(
            actor=world.admin, department=world.tree.city_market, title="", body="b", interpretations=[("a", "b")]
        )
    assert exc.value.fields == {"title": ["请填写标题"]}


def test_the_workbench_publishes_a_document_and_others_get_404(world):
    admin = client_for(world.admin)
    response = admin.post(
        "/workbench/publicity/",
        {
            "department": world.tree.city_market.pk,
            "title": "关于优化营商环境的若干措施",
            "body": "一、压缩企业开办时间。",
            "interpretation_title": "解读",
            "interpretation": "企业开办一日办结。",
            "questions": "开办企业要几天？|一个工作日。\n要交钱吗？|不收费。",
        },
    )
    assert response.status_code == 302
    page = client_for().get(response.url).content.decode()
    assert "企业开办一日办结" in page and "开办企业要几天？" in page and "不收费。" in page
    missing = admin.post("/workbench/publicity/", {"department": world.tree.city_market.pk, "title": "x", "body": "y"})
    assert missing.status_code == 422 and "政策文件须与解读同步发布" in missing.content.decode()
    assert client_for(world.citizen).get("/workbench/publicity/").status_code == 404


def test_comments_are_moderated_then_the_adoption_is_published(world, today):
    consultation = services.consultation_open(
        actor=world.admin,
        department=world.tree.city_market,
        title="个体工商户登记便利化措施（征求意见稿）",
        draft_text="一、住所实行申报承诺制。",
        opens_on=today - days(1),
        closes_on=today + days(10),
    )
    citizen = client_for(world.citizen)
    response = citizen.post(f"/publicity/consultations/{consultation.pk}/comment/", {"body": "建议夜市摊位也适用。"})
    assert response.status_code == 302
    second = services.comment_post(actor=world.other_citizen, consultation=consultation, body="不当言论")
    page = client_for().get(f"/publicity/consultations/{consultation.pk}/").content.decode()
    assert "建议夜市摊位也适用" not in page  # not before moderation
    first = ConsultationComment.objects.get(body="建议夜市摊位也适用。")
    with pytest.raises(Forbidden):
        services.comment_moderate(actor=world.other_admin, comment=first, publish=True)
    assert client_for(world.other_admin).post(f"/workbench/publicity/comments/{first.pk}/moderate/").status_code == 404
    admin = client_for(world.admin)
    admin.post(f"/workbench/publicity/comments/{first.pk}/moderate/", {"decision": "publish"})
    with pytest.raises(ValidationFailed):  # keeping one back needs a reason
        services.comment_moderate(actor=world.admin, comment=second, publish=False)
    admin.post(f"/workbench/publicity/comments/{second.pk}/moderate/", {"decision": "reject", "note": "与主题无关"})
    page = client_for().get(f"/publicity/consultations/{consultation.pk}/").content.decode()
    assert "建议夜市摊位也适用" in page and "不当言论" not in page and "张*" in page and "张三" not in page
    # The summary must answer every published comment.
    with pytest.raises(ValidationFailed) as exc:
        services.consultation_summarize(actor=world.admin, consultation=consultation, summary="收到1条。", decisions={})
    assert f"comments.{first.pk}" in exc.value.fields
    done = admin.post(
        f"/workbench/publicity/consultations/{consultation.pk}/summary/",
        {"summary": "共收到意见2条，采纳1条。", f"adopted_{first.pk}": "yes", f"response_{first.pk}": "已增加。"},
    )
    assert done.status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.SUMMARIZED and consultation.summary_published_at
    page = client_for().get(f"/publicity/consultations/{consultation.pk}/").content.decode()
    assert "意见采纳情况" in page and "已采纳" in page and "已增加。" in page
    with pytest.raises(Conflict):
        services.consultation_summarize(actor=world.admin, consultation=consultation, summary="again", decisions={})
    with pytest.raises(Conflict):  # closed for comments
        services.comment_post(actor=world.citizen, consultation=consultation, body="迟到的意见")
    assert AuditEvent.objects.filter(action__startswith="publicity.").count() == 6


def test_commenting_needs_sign_in_and_an_open_consultation(world, today):
    later = services.consultation_open(
        actor=world.admin,
        department=world.tree.city_market,
        title="尚未开始的征集",
        draft_text="草案",
        opens_on=today + days(5),
        closes_on=today + days(20),
    )
    with pytest.raises(NotAuthenticated):
        services.comment_post(actor=None, consultation=later, body="x")
    response = client_for(world.citizen).post(f"/publicity/consultations/{later.pk}/comment/", {"body": "早到的意见"})
    assert response.status_code == 409 and "不在征集期内" in response.content.decode()
    with pytest.raises(ValidationFailed):
        services.consultation_open(
            actor=world.admin,
            department=world.tree.city_market,
            title="t",
            draft_text="d",
            opens_on=today,
            closes_on=today - days(1),
        )
    anonymous = client_for().post(f"/publicity/consultations/{later.pk}/comment/", {"body": "x"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.url


def test_pages_in_english(world, today):
    document = publish(world)
    client = client_for()
    client.cookies["django_language"] = "en"
    html = client.get(f"/publicity/documents/{document.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Policy interpretation" in html and "Questions and answers" in html
