"""The pages: rate on the portal (and via the window's QR code), staff pages, Excel, metrics
with the locally served ECharts, the public page."""

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from yiwang.evaluation import services
from yiwang.evaluation.models import Rating, RectificationState

STATIC = Path(__file__).resolve().parent.parent / "static" / "evaluation"


def test_applicant_rates_on_the_case_page(client, world, case):
    client.force_login(world.applicant)
    detail = client.get(f"/cases/{case.pk}/")
    assert f"/evaluation/cases/{case.pk}/rate/" in detail.content.decode()
    page = client.get(f"/evaluation/cases/{case.pk}/rate/")
    assert page.status_code == 200 and "非常不满意" in page.content.decode()
    response = client.post(f"/evaluation/cases/{case.pk}/rate/", {"level": "very_satisfied", "comment": "好"})
    assert response.status_code == 302
    rating = Rating.objects.get()
    assert rating.channel == "portal" and rating.level == "very_satisfied"
    again = client.post(f"/evaluation/cases/{case.pk}/rate/", {"level": "satisfied"}, follow=True)
    assert "已评价过" in again.content.decode()
    assert Rating.objects.get().level == "very_satisfied"
    changed = client.post(f"/evaluation/cases/{case.pk}/rate/", {"action": "change", "level": "satisfied"})
    assert changed.status_code == 302 and Rating.objects.get().level == "satisfied"


@pytest.mark.parametrize("who", ["other_citizen", "reviewer", "clerk"])
def test_someone_elses_rate_page_is_404(client, world, case, who):
    client.force_login(getattr(world, who))
    assert client.get(f"/evaluation/cases/{case.pk}/rate/").status_code == 404
    assert client.post(f"/evaluation/cases/{case.pk}/rate/", {"level": "very_dissatisfied"}).status_code == 404
    assert not Rating.objects.exists()


def test_window_qr_code_opens_the_rating_page_and_records_the_channel(client, world, case):
    client.force_login(world.clerk)
    page = client.get(f"/workbench/evaluation/cases/{case.pk}/qr/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    token = services.rating_qr_token(case_id=case.pk)
    client.logout()
    anonymous = client.get(f"/evaluation/r/{token}/", follow=True)
    assert "login" in anonymous.redirect_chain[-1][0]
    client.force_login(world.applicant)
    landing = client.get(f"/evaluation/r/{token}/")
    assert landing.status_code == 302 and landing["Location"].endswith("?via=qr")
    client.post(landing["Location"], {"level": "satisfied", "via": "qr"})
    assert Rating.objects.get().channel == "qr"
    assert client.get("/evaluation/r/not-a-token/").status_code == 404


def test_staff_pages_rectification_and_export(client, world, case):
    rating = services.rating_submit(actor=world.applicant, case_id=case.pk, level="dissatisfied", comment="慢")
    client.force_login(world.reviewer)
    index = client.get("/workbench/evaluation/?group=staff")
    assert index.status_code == 200 and rating.case_number in index.content.decode()
    detail = client.get(f"/workbench/evaluation/ratings/{rating.pk}/")
    assert detail.status_code == 200 and "核实情况" in detail.content.decode()
    for step, text in (("verify", "属实"), ("contact", "已致歉"), ("complete", "增开窗口")):
        assert client.post(f"/workbench/evaluation/ratings/{rating.pk}/{step}/", {"text": text}).status_code == 302
    rating.refresh_from_db()
    assert rating.rectification.state == RectificationState.RECTIFIED
    export = client.get("/workbench/evaluation/export.xlsx")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.content))
    assert {"按部门", "按事项", "按窗口", "按工作人员", "评价明细"} <= set(book.sheetnames)
    rows = list(book["按部门"].iter_rows(values_only=True))
    assert rows[1][1] == 1 and rows[1][7] == 1.0  # one rating, 差评整改率 100 %
    client.force_login(world.police_reviewer)
    assert client.get(f"/workbench/evaluation/ratings/{rating.pk}/").status_code == 404
    client.force_login(world.other_citizen)
    assert client.get("/workbench/evaluation/").status_code == 404


def test_metrics_page_uses_the_local_echarts_and_public_page_works(client, world, case):
    client.force_login(world.head)
    page = client.get("/workbench/evaluation/metrics/")
    html = page.content.decode()
    assert page.status_code == 200 and "evaluation/vendor/echarts.min.js" in html and "metrics-data" in html
    assert "http://" not in html.split("<body")[0] and "https://" not in html.split("<body")[0]
    assert client.get("/static/evaluation/vendor/echarts.min.js").status_code == 200
    client.logout()
    assert client.get("/evaluation/public/").status_code == 200


def test_vendored_echarts_is_the_npm_package_file():
    """The served copy is the one package.json pins (make install fetches it with npm ci)."""
    npm = Path(__file__).resolve().parents[4] / "node_modules" / "echarts" / "dist" / "echarts.min.js"
    if not npm.exists():
        pytest.skip("node_modules not installed")
    assert (STATIC / "vendor" / "echarts.min.js").read_bytes() == npm.read_bytes()


def test_rating_page_in_english(client, world, case):
    client.force_login(world.applicant)
    client.cookies["django_language"] = "en"
    page = client.get(f"/evaluation/cases/{case.pk}/rate/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert "Very dissatisfied" in html and "Submit rating" in html
