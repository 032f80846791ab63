"""Notices as PDFs in Chinese with the case number, read back with pdfium."""

import os

import pypdfium2 as pdfium
import pytest

from yiwang.cases import services
from yiwang.cases.notices import notice_pdf
from yiwang.cases.tests.factories import FORM, attach_required
from yiwang.cases.tests.test_api import API, auth
from yiwang.core.errors import NotFound


def text_of(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    return "".join(page.get_textpage().get_text_range() for page in document).replace("\r", "").replace("\n", "")


def submit(world):
    return attach_required(services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)[0])


def test_acceptance_supplement_and_rejection_notices(world, at):
    at(2025, 9, 26, 10)
    case = submit(world)
    with pytest.raises(NotFound):
        notice_pdf(case, "acceptance")
    case = services.case_accept(actor=world.clerk, case_id=case.pk)
    text = text_of(notice_pdf(case, "acceptance"))
    assert "受理通知书" in text and case.number in text and "张三" in text
    assert "2025年10月16日" in text and "苏州市市场监督管理局" in text

    services.case_request_supplement(
        actor=world.reviewer,
        case_id=case.pk,
        items=[
            {"material": "经营场所使用证明", "problem": "租赁合同已过期"},
            {"material": "申请书", "problem": "未签字"},
        ],
    )
    text = text_of(notice_pdf(case, "supplement"))
    assert "补正告知书" in text and "一次性告知" in text
    assert "1. 经营场所使用证明:租赁合同已过期" in text and "2. 申请书:未签字" in text

    services.case_supplement_answer(actor=world.applicant, case_id=case.pk)
    services.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="不符合", outcome="disagree")
    case = services.case_decide(actor=world.head, case_id=case.pk, decision="reject", reasons="经营场所不符合规定")
    text = text_of(notice_pdf(case, "decision"))
    assert "不予许可决定书" in text and "经营场所不符合规定" in text and "第三十八条" in text
    assert "行政复议" in text and "行政诉讼" in text


def test_refusal_notice_and_api_download(client, world):
    case = submit(world)
    services.case_refuse(actor=world.clerk, case_id=case.pk, reason="该事项不属于本机关职权范围")
    response = client.get(f"{API}/{case.pk}/notices/refusal", **auth(world.applicant))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    if os.path.exists("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"):
        assert b"/FontFile2" in response.content  # the Chinese font travels with the notice
    text = text_of(response.content)
    assert "不予受理通知书" in text and case.number in text and "不属于本机关职权范围" in text
    assert client.get(f"{API}/{case.pk}/notices/decision", **auth(world.applicant)).status_code == 404
    assert client.get(f"{API}/{case.pk}/notices/refusal", **auth(world.other_citizen)).status_code == 404
    detail = client.get(f"{API}/{case.pk}", **auth(world.applicant)).json()
    assert detail["notices"] == ["application", "refusal"]


def test_without_the_wqy_font_the_builtin_cid_font_is_used(world, monkeypatch, settings):
    from yiwang.core import pdf as core_pdf

    case = submit(world)
    services.case_refuse(actor=world.clerk, case_id=case.pk, reason="不属于本机关职权范围")
    case.refresh_from_db()
    settings.YIWANG_CJK_FONT = ""
    monkeypatch.setattr(core_pdf, "FONT_CANDIDATES", ("/nonexistent/wqy.ttc",))
    core_pdf.pdf_font.cache_clear()
    try:
        pdf = notice_pdf(case, "refusal")
    finally:
        core_pdf.pdf_font.cache_clear()
    # the built-in CID font is referenced by name and nothing is embedded
    assert b"STSong-Light" in pdf and b"/FontFile2" not in pdf
    assert case.number in text_of(pdf)


def test_notice_labels_follow_the_language_of_the_request():
    """The labels are lazy: translated when the page is drawn, not once when the module loads."""
    from django.utils import translation

    from yiwang.cases.views import NOTICE_LABELS

    with translation.override("en"):
        assert str(NOTICE_LABELS["acceptance"]) == "Notice of acceptance"
        assert str(NOTICE_LABELS["application"]) == "Application form"
    with translation.override("zh-hans"):
        assert str(NOTICE_LABELS["acceptance"]) == "受理通知书"
