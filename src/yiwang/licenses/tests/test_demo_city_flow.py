"""Done means, in the demo city: approving a 个体工商户设立登记 case puts a signed 营业执照 in the
applicant's wallet, and its verify page says valid (then revoked)."""

import pytest

from yiwang.cases import services as cases
from yiwang.cases.tests.factories import attach_required
from yiwang.catalog import demo_data as catalog_demo
from yiwang.catalog.models import ServiceItem
from yiwang.demo.services import demo_load
from yiwang.identity.models import User
from yiwang.licenses import demo_data
from yiwang.licenses.models import License
from yiwang.licenses.selectors import license_verify, licenses_for_holder
from yiwang.licenses.services import license_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_approved_individual_business_case_issues_the_business_license(django_capture_on_commit_callbacks):
    demo_load()
    catalog_demo.load()
    demo_data.load()
    item = ServiceItem.objects.get(implementation_code="SFS-SCJG-0001")
    applicant = User.objects.filter(kind=User.Kind.CITIZEN).exclude(id_number="").order_by("username").first()
    staff = {u.username: u for u in User.objects.filter(username__startswith="scjg_")}
    form = {
        "business_name": "示范市明湖区小明面馆",
        "operator_name": applicant.real_name,
        "operator_id_number": applicant.id_number,
        "business_address": "明湖区文昌路8号",
        "business_scope": "餐饮服务",
        "composition": "个人经营",
    }
    case, _ = cases.case_submit(actor=applicant, item=item, form_data=form)
    attach_required(case)  # the 申请书, which acceptance requires
    case = cases.case_accept(actor=staff["scjg_clerk"], case_id=case.pk)
    case = cases.case_claim(actor=staff["scjg_reviewer1"], case_id=case.pk)
    cases.case_record_opinion(actor=staff["scjg_reviewer1"], case_id=case.pk, opinion="材料齐全,准予登记")
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_decide(actor=staff["scjg_head"], case_id=case.pk, decision="approve")
    lic = License.objects.get(source_case_id=case.pk)
    assert lic.license_type.code == "business_license_individual" and lic.issuer.code == "SFS-SCJG"
    assert lic.data == {
        "business_name": "示范市明湖区小明面馆",
        "business_address": "明湖区文昌路8号",
        "business_scope": "餐饮服务",
        "composition": "个人经营",
    }
    wallet = list(licenses_for_holder(actor=applicant))  # beside the demo's e-ID card and 社保卡 (免证可办)
    assert lic in wallet
    assert sorted(w.license_type.code for w in wallet) == [
        "business_license_individual",
        "resident_id_card",
        "social_security_card",
    ]
    assert license_verify(identifier=lic.identifier).result == "valid"
    license_revoke(actor=staff["scjg_head"], license=lic, reason="申请注销")
    assert license_verify(identifier=lic.identifier).result == "revoked"
