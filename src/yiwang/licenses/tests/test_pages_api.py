"""The verify page and API as a scanner sees them; the wallet, PDF download and presentations."""

import datetime

import pytest
from django.utils import timezone

from yiwang.licenses import keys
from yiwang.licenses.models import License, PresentationView
from yiwang.licenses.services import license_revoke
from yiwang.licenses.tests.factories import HOLDER_ID, build_world, issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _scan_path(lic):
    return f"/verify/{lic.identifier}?s={keys.short_token(lic.signature)}"


def test_scanning_says_valid_then_revoked(client, world):
    lic = issue(world)
    page = client.get(_scan_path(lic))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-result="valid"' in html and "营业执照" in html and "苏州市市场监督管理局" in html
    assert "张*三" in html and HOLDER_ID[:6] + "********" + HOLDER_ID[-4:] in html
    assert HOLDER_ID not in html and "张小三" not in html
    license_revoke(actor=world.reviewer, license=lic, reason="申请注销")
    html = client.get(_scan_path(lic)).content.decode()
    assert 'data-result="revoked"' in html and "申请注销" in html


def test_verify_api_reports_tampering_and_unknown(client, world):
    lic = issue(world)
    body = client.get(f"/api/v1/licenses/verify/{lic.identifier}").json()
    assert body["result"] == "valid" and body["signature_valid"] and body["license"]["holder_name"] == "张*三"
    License.objects.filter(pk=lic.pk).update(data={"business_name": "改过的名称"})
    body = client.get(f"/api/v1/licenses/verify/{lic.identifier}").json()
    assert body["result"] == "invalid_signature" and not body["signature_valid"] and body["reasons"]
    body = client.get("/api/v1/licenses/verify/1.2.156.3005.2.X").json()
    assert body["result"] == "malformed"
    assert client.get("/verify/1.2.156.3005.2.X").status_code == 404


def test_wallet_lists_and_downloads_only_own_licenses(client, world):
    lic = issue(world)
    assert client.get("/wallet/").status_code == 302  # sign in first
    client.force_login(world.citizen)
    html = client.get("/wallet/").content.decode()
    assert lic.identifier in html and "下载 PDF" in html
    pdf = client.get(f"/wallet/{lic.pk}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    api = client.get("/api/v1/licenses/mine").json()
    assert [item["identifier"] for item in api] == [lic.identifier]
    client.force_login(world.clerk)
    assert client.get(f"/wallet/{lic.pk}/pdf").status_code == 404
    assert client.get("/api/v1/licenses/mine").json() == []


def test_presentation_is_time_limited_revocable_and_logged(client, world):
    lic = issue(world)
    client.force_login(world.citizen)
    response = client.post(f"/wallet/{lic.pk}/present", {"minutes": "5", "purpose": "酒店入住"})
    assert response.status_code == 302
    presentation = lic.presentations.get()
    assert presentation.purpose == "酒店入住"
    third_party = client.__class__()
    html = third_party.get(f"/verify/present/{presentation.code}?viewer=某酒店").content.decode()
    assert 'data-result="valid"' in html and "营业执照" in html
    assert "data-presented" in html and "张小三" in html and "苏州市虎丘区小三面馆" in html  # shown by consent
    assert HOLDER_ID not in html
    assert "苏州市虎丘区小三面馆" not in client.get(_scan_path(lic)).content.decode()  # a plain scan does not
    assert PresentationView.objects.get().viewer_label == "某酒店"
    assert "某酒店" in client.get(f"/wallet/presentations/{presentation.pk}/").content.decode()
    # Expired, then revoked: the code shows nothing.
    type(presentation).objects.filter(pk=presentation.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    assert third_party.get(f"/verify/present/{presentation.code}").status_code == 404
    type(presentation).objects.filter(pk=presentation.pk).update(expires_at=timezone.now() + datetime.timedelta(1))
    client.post(f"/wallet/presentations/{presentation.pk}/revoke")
    assert third_party.get(f"/verify/present/{presentation.code}").status_code == 404
    assert third_party.get(f"/api/v1/licenses/presentations/{presentation.code}").json()["code"] == "not_found"
    assert PresentationView.objects.count() == 1


def test_staff_issue_and_revoke_over_the_api(client, world):
    client.force_login(world.reviewer)
    payload = {
        "license_type": "business_license_individual",
        "issuer_department": "SZ-SJJ",
        "holder_kind": "person",
        "holder_name": "张小三",
        "holder_id": HOLDER_ID,
        "data": {"business_name": "小三面馆", "business_scope": "餐饮", "address": "枫桥路1号"},
    }
    response = client.post("/api/v1/licenses/issue", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    issued = response.json()
    bad = client.post(
        "/api/v1/licenses/issue", {**payload, "data": {}, "holder_id": "123"}, content_type="application/json"
    ).json()
    assert bad["code"] == "invalid" and "holder_id" in bad["fields"] and "data.business_name" in bad["fields"]
    revoked = client.post(
        f"/api/v1/licenses/{issued['id']}/revoke", {"reason": "吊销"}, content_type="application/json"
    )
    assert revoked.json()["status"] == "revoked"
    client.force_login(world.citizen)
    assert (
        client.post(
            f"/api/v1/licenses/{issued['id']}/suspend", {"reason": "x"}, content_type="application/json"
        ).json()["code"]
        == "not_found"
    )


def test_scanning_the_downloaded_pdf_leads_to_valid_then_revoked(client, world, settings):
    """The whole loop: wallet → PDF → any QR reader → the URL it holds → the page's verdict."""
    from yiwang.licenses.tests.test_pdf import qr_texts

    lic = issue(world)
    client.force_login(world.citizen)
    pdf = client.get(f"/wallet/{lic.pk}/pdf").content
    (url,) = [u for u in qr_texts(pdf) if "/verify/" in u]
    assert url.startswith(settings.SITE_URL)
    scanner = client.__class__()
    path = url[len(settings.SITE_URL) :]
    assert 'data-result="valid"' in scanner.get(path).content.decode()
    license_revoke(actor=world.reviewer, license=lic, reason="吊销")
    assert 'data-result="revoked"' in scanner.get(path).content.decode()


@pytest.mark.parametrize("tamper", ["link", "row"])
def test_tampered_verify_page_gives_one_verdict(client, world, tamper):
    """Issue #14: a tampered link said both 验证不通过 and "SM2 签名验证通过"."""
    lic = issue(world)
    path = _scan_path(lic)
    if tamper == "link":
        path = path[:-2] + ("00" if not path.endswith("00") else "11")
    else:
        License.objects.filter(pk=lic.pk).update(data={"business_name": "改过的名称"})
    html = client.get(path).content.decode()
    assert 'data-result="invalid_signature"' in html and "验证不通过" in html
    assert "SM2 签名验证通过" not in html and 'data-result="valid"' not in html
    assert "张*三" not in html  # no details to trust on a failed verdict


def test_wallet_tells_two_licenses_of_one_type_apart_and_each_has_its_page(client, world, settings):
    """Issue #14: two 营业执照 cards looked alike (and were two landmarks with one name)."""
    import re

    first = issue(world)
    second = issue(
        world, data={"business_name": "苏州市虎丘区小三茶馆", "business_scope": "茶饮", "address": "虎丘路2号"}
    )
    client.force_login(world.citizen)
    html = client.get("/wallet/").content.decode()
    headings = re.findall(r'<h2 id="lic-\d+">(.*?)</h2>', html, re.S)
    assert len(headings) == 2 and headings[0] != headings[1]
    assert "小三面馆" in html and "小三茶馆" in html
    page = client.get(f"/wallet/{second.pk}/").content.decode()
    assert "小三茶馆" in page and f"/wallet/{second.pk}/pdf" in page and "<svg" in page
    token = keys.short_token(second.signature)
    assert f'data-verify-url="{settings.SITE_URL}/verify/{second.identifier}?s={token}"' in page
    assert client.get(f"/wallet/{first.pk}/").status_code == 200
    client.force_login(world.clerk)
    assert client.get(f"/wallet/{second.pk}/").status_code == 404
