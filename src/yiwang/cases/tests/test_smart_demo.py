"""Done means, in the demo city: a citizen applies for a 秒批 item with nothing to upload and holds
the result at once; the 免提交 materials of 高龄津贴申领 are all verified; 户口迁移 is pre-filled."""

import pytest

from yiwang.cases import services
from yiwang.cases.models import CaseAutoCheck, CaseEvidence, CaseState, EvidenceStatus
from yiwang.catalog import demo_data as catalog_demo
from yiwang.catalog import selectors as catalog_selectors
from yiwang.demo.services import demo_load
from yiwang.exchange import demo_data as exchange_demo
from yiwang.identity.models import User
from yiwang.licenses import demo_data as licenses_demo
from yiwang.licenses.models import License
from yiwang.registries import demo_data as registries_demo

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_demo_city_decides_at_once_and_asks_for_nothing_it_holds(django_capture_on_commit_callbacks):
    from yiwang.cases import demo_data as cases_demo

    demo_load()
    registries_demo.load()
    exchange_demo.load()
    catalog_demo.load()
    cases_demo.load()
    licenses_demo.load()
    citizen = User.objects.get(username="citizen03")
    item = catalog_selectors.item_get_published(implementation_code="SFS-RSJ-0004")
    values, _sources = services.form_prefill(actor=citizen, applicant=citizen, version=item.current_version)
    with django_capture_on_commit_callbacks(execute=True):
        case, _ = services.case_submit(actor=citizen, item=item, form_data={**values, "status": "失业"})
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED
    assert License.objects.get(source_case_id=case.pk).license_type.code == "employment_certificate"

    elderly = catalog_selectors.item_get_published(implementation_code="SFS-MZJ-0004")
    refused, _ = services.case_submit(
        actor=citizen,
        item=elderly,
        form_data={"elder_name": citizen.real_name, "elder_id_number": citizen.id_number},
    )
    refused.refresh_from_db()
    evidence = {e.name: e.status for e in CaseEvidence.objects.filter(case=refused)}
    assert evidence == {
        "老年人居民身份证": EvidenceStatus.VERIFIED,
        "户籍信息": EvidenceStatus.VERIFIED,
        "本人社会保障卡金融账户": EvidenceStatus.VERIFIED,
    }
    assert refused.state == CaseState.REJECTED  # the demo citizens are all under 80
    assert CaseAutoCheck.objects.get(case=refused).row == 2

    moving = catalog_selectors.item_get_published(implementation_code="SFS-GAJ-0002")
    prefilled, sources = services.form_prefill(actor=citizen, applicant=citizen, version=moving.current_version)
    assert sources["origin_address"] == "population.address" and prefilled["origin_address"]
    # citizen01's 营业执照 from the demo case is issued, though no worker ran.
    first = User.objects.get(username="citizen01")
    assert License.objects.filter(
        license_type__code="business_license_individual", holder_id_index=first.id_number_index
    ).exists()
