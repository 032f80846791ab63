"""The publicity JSON API (/api/v1/publicity/) over the same selectors and services as the pages,
and the workbench form that opens a consultation (errors under each field, input kept)."""

from yiwang.core.models import AuditEvent
from yiwang.identity.services import api_token_create
from yiwang.publicity.models import Consultation, ConsultationComment
from yiwang.publicity.tests.conftest import days
from yiwang.publicity.tests.test_publicity import client_for, publish

API = "/api/v1/publicity"


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, user=user, name='t')[1]}"}


def test_documents_are_public_searched_and_shown_with_interpretation_and_qa(world):
    document = publish(world)
    anonymous = client_for()
    listed = anonymous.get(f"{API}/documents").json()
    assert [d["id"] for d in listed] == [document.pk] and listed[0]["department"] == "SZ-SJJ"
    found = anonymous.get(f"{API}/documents", {"q": "开个体户"}).json()
    assert found[0]["id"] == document.pk and found[0]["score"] > 0
    assert anonymous.get(f"{API}/documents", {"q": "量子计算机"}).json() == []
    detail = anonymous.get(f"{API}/documents/{document.pk}").json()
    assert detail["interpretations"][0]["title"] == "政策解读：开个体户更方便了"
    assert detail["questions"] == [{"question": "住所需要产权证明吗？", "answer": "不需要，实行申报承诺制。"}]
    missing = anonymous.get(f"{API}/documents/{document.pk + 1000}")
    assert missing.status_code == 404 and missing.json()["code"] == "document_not_found"


def test_a_consultation_is_opened_commented_moderated_and_summarized_by_api(world, today):
    admin, other, citizen = client_for(), client_for(), client_for()
    body = {
        "title": "《夜市管理办法（征求意见稿）》",
        "department": "SZ-SJJ",
        "description": "规范夜市经营。",
        "draft_text": "第一条 为规范夜市经营秩序，制定本办法。",
        "opens_on": today.isoformat(),
        "closes_on": (today + days(30)).isoformat(),
    }
    # Someone who administers no department: 404; another department's admin: 422 naming the field.
    assert (
        citizen.post(f"{API}/consultations", body, content_type="application/json", **bearer(world.citizen)).status_code
        == 404
    )
    refused = other.post(f"{API}/consultations", body, content_type="application/json", **bearer(world.other_admin))
    assert refused.status_code == 422 and "department" in refused.json()["fields"]
    bad = admin.post(
        f"{API}/consultations",
        {**body, "title": " ", "draft_text": "", "closes_on": (today - days(1)).isoformat()},
        content_type="application/json",
        **bearer(world.admin),
    )
    assert bad.status_code == 422 and set(bad.json()["fields"]) == {"title", "draft_text", "closes_on"}
    assert not Consultation.objects.exists()
    made = admin.post(f"{API}/consultations", body, content_type="application/json", **bearer(world.admin))
    assert made.status_code == 201 and made.json()["accepting_comments"] is True
    pk = made.json()["id"]
    assert AuditEvent.objects.filter(action="publicity.consultation_open").count() == 1

    comment_url = f"{API}/consultations/{pk}/comments"
    assert client_for().post(comment_url, {"body": "x"}, content_type="application/json").status_code == 401
    posted = citizen.post(
        comment_url, {"body": "建议延长营业时间"}, content_type="application/json", **bearer(world.citizen)
    )
    assert posted.status_code == 201 and posted.json()["status"] == "pending"
    comment_id = posted.json()["id"]
    assert client_for().get(f"{API}/consultations/{pk}").json()["comments"] == []  # not yet moderated

    # Another department's admin: the consultation and its comments look missing.
    assert other.get(f"{API}/admin/consultations/{pk}/comments", **bearer(world.other_admin)).status_code == 404
    hidden = other.post(
        f"{API}/comments/{comment_id}/moderate",
        {"publish": True},
        content_type="application/json",
        **bearer(world.other_admin),
    )
    assert hidden.status_code == 404
    assert other.get(f"{API}/admin/consultations", **bearer(world.other_admin)).json() == []
    waiting = admin.get(f"{API}/admin/consultations", **bearer(world.admin)).json()
    assert [(c["id"], c["pending"]) for c in waiting] == [(pk, 1)]
    listed = admin.get(f"{API}/admin/consultations/{pk}/comments", **bearer(world.admin)).json()
    assert listed[0]["author"] == "张*" and listed[0]["status"] == "pending"

    no_reason = admin.post(
        f"{API}/comments/{comment_id}/moderate",
        {"publish": False},
        content_type="application/json",
        **bearer(world.admin),
    )
    assert no_reason.status_code == 422 and "note" in no_reason.json()["fields"]
    early = admin.post(
        f"{API}/consultations/{pk}/summary", {"summary": "采纳"}, content_type="application/json", **bearer(world.admin)
    )
    assert early.status_code == 422 and "comments" in early.json()["fields"]  # one still pending
    published = admin.post(
        f"{API}/comments/{comment_id}/moderate",
        {"publish": True},
        content_type="application/json",
        **bearer(world.admin),
    )
    assert published.status_code == 200 and published.json()["status"] == "published"
    public = client_for().get(f"{API}/consultations/{pk}").json()
    assert [(c["author"], c["body"]) for c in public["comments"]] == [("张*", "建议延长营业时间")]
    assert "张三" not in str(public)

    unanswered = admin.post(
        f"{API}/consultations/{pk}/summary",
        {"summary": "采纳一条"},
        content_type="application/json",
        **bearer(world.admin),
    )
    assert unanswered.status_code == 422 and f"comments.{comment_id}" in unanswered.json()["fields"]
    decisions = [{"comment_id": comment_id, "adopted": True, "response": "已将营业时间延长至24时"}]
    closed = admin.post(
        f"{API}/consultations/{pk}/summary",
        {"summary": "共收到意见1条，采纳1条。", "decisions": decisions},
        content_type="application/json",
        **bearer(world.admin),
    )
    assert closed.status_code == 200 and closed.json()["status"] == "summarized"
    assert closed.json()["comments"][0]["adopted"] is True and closed.json()["accepting_comments"] is False
    again = admin.post(
        f"{API}/consultations/{pk}/summary",
        {"summary": "再次", "decisions": decisions},
        content_type="application/json",
        **bearer(world.admin),
    )
    assert again.status_code == 409 and again.json()["code"] == "already_summarized"
    late = citizen.post(comment_url, {"body": "晚了"}, content_type="application/json", **bearer(world.citizen))
    assert late.status_code == 409 and late.json()["code"] == "consultation_closed"
    assert ConsultationComment.objects.count() == 1


URL = "/workbench/publicity/consultations/new/"


def test_the_workbench_form_opens_a_consultation_with_errors_under_the_fields(world, today):
    admin = client_for(world.admin)
    form = admin.get(URL)
    assert form.status_code == 200 and 'name="draft_text"' in form.content.decode()
    assert "/workbench/publicity/consultations/new/" in admin.get("/workbench/publicity/").content.decode()
    typed = {
        "department": world.tree.city_market.pk,
        "title": "",
        "description": "起草说明写在这里",
        "draft_text": "第一条 草案正文保留。",
        "opens_on": "2026-13-01",
        "closes_on": (today + days(10)).isoformat(),
    }
    wrong = admin.post(URL, typed)
    page = wrong.content.decode()
    assert wrong.status_code == 422 and not Consultation.objects.exists()
    assert 'id="err_title"' in page and "请填写标题" in page
    assert 'id="err_opens_on"' in page and "请填写日期" in page
    assert "第一条 草案正文保留。" in page and "起草说明写在这里" in page  # what was typed is kept
    assert 'id="err_draft_text"' not in page
    reversed_dates = admin.post(
        URL, {**typed, "title": "草案", "opens_on": today.isoformat(), "closes_on": (today - days(1)).isoformat()}
    )
    assert reversed_dates.status_code == 422 and 'id="err_closes_on"' in reversed_dates.content.decode()
    assert not Consultation.objects.exists()

    done = admin.post(URL, {**typed, "title": "《夜市管理办法（征求意见稿）》", "opens_on": today.isoformat()})
    consultation = Consultation.objects.get()
    assert done.status_code == 302 and done.url == f"/workbench/publicity/consultations/{consultation.pk}/"
    assert consultation.department == world.tree.city_market and consultation.created_by == world.admin
    event = AuditEvent.objects.get(action="publicity.consultation_open")
    assert event.actor_id == world.admin.pk
    # Another department's admin cannot choose it (the choice is not offered); a citizen gets 404.
    other = client_for(world.other_admin).post(URL, {**typed, "title": "x", "opens_on": today.isoformat()})
    assert other.status_code == 422 and 'id="err_department"' in other.content.decode()
    assert client_for(world.citizen).get(URL).status_code == 404
    assert Consultation.objects.count() == 1
