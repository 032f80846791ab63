"""实名等级 per item: an item may require L2 (人口库核验) or L3 (当面核验); an applicant below it is
refused with how to raise it, and L2 is one click away — the account's name and 身份证号 matched
against the 人口 registry through the exchange (identity.services.user_real_name_verify)."""

import datetime

import pytest
from django.urls import reverse

from yiwang.cases import services
from yiwang.cases.models import Case
from yiwang.cases.tests.factories import FORM, build_world, publish_item
from yiwang.catalog.content import check_item, content_digest
from yiwang.catalog.tests.factories import item_data
from yiwang.core.crypto import blind_index
from yiwang.core.errors import Conflict, Forbidden, RateLimited, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.exchange import gateway
from yiwang.exchange import services as exchange
from yiwang.exchange.models import ExchangeLog
from yiwang.identity.models import User
from yiwang.identity.services import REAL_NAME_APP, user_real_name_verify
from yiwang.registries.models import Person, RegistryField

pytestmark = pytest.mark.django_db

UNTIL = datetime.date.today() + datetime.timedelta(days=365)


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    gateway.invalidate()
    w = build_world()
    root = w.tree.root
    RegistryField.objects.filter(registry="population").update(source_department=w.tree.city_market)
    Person.objects.create(
        id_number=w.applicant.id_number,
        id_number_index=blind_index(w.applicant.id_number),
        name=w.applicant.real_name,
        sex="male",
        birth_date=datetime.date(1985, 1, 2),
        region_code="320505",
        address="苏州市姑苏区人民路1号",
    )
    exchange.catalog_sync(actor=root)
    exchange.grant_for_app(
        actor=root,
        app=REAL_NAME_APP,
        department=w.tree.city_market,
        registry="population",
        fields=["name"],
        purpose="实名核验",
        legal_basis="《网络安全法》第二十四条",
        valid_until=UNTIL,
        unmasked_fields=["name"],
    )
    gateway.invalidate()
    w.l2_item = publish_item(root, implementation_code="SZ-GAJ-0905", name="无犯罪记录证明", real_name_level=2)
    w.l3_item = publish_item(root, implementation_code="SZ-GAJ-0906", name="护照签发", real_name_level=3)
    return w


def test_catalog_checks_the_level_and_leaves_l1_out_of_the_content():
    plain, problems = check_item(item_data())
    assert not problems and "real_name_level" not in plain
    explicit_l1, _ = check_item(item_data(real_name_level=1))
    assert content_digest(explicit_l1) == content_digest(plain)  # old items keep their digest
    l2, problems = check_item(item_data(real_name_level=2))
    assert not problems and l2["real_name_level"] == 2
    for bad in (4, 0, "2", True):
        _clean, problems = check_item(item_data(real_name_level=bad))
        assert [p.path for p in problems] == [("real_name_level",)], bad


def test_an_applicant_below_the_level_is_told_how_to_raise_it(world):
    with pytest.raises(Forbidden) as refused:
        services.case_submit(actor=world.applicant, item=world.l2_item, form_data=FORM, idempotency_key="a")
    assert refused.value.code == "real_name_level_too_low"
    assert "人口库核验" in str(refused.value.message) and "L2" in str(refused.value.message)
    with pytest.raises(Forbidden) as refused:
        services.case_submit(actor=world.applicant, item=world.l3_item, form_data=FORM, idempotency_key="b")
    assert "窗口当面核验" in str(refused.value.message)
    assert not Case.objects.exists()

    user_real_name_verify(actor=world.applicant)
    case, created = services.case_submit(actor=world.applicant, item=world.l2_item, form_data=FORM, idempotency_key="a")
    assert created and case.item_version.real_name_level == 2
    with pytest.raises(Forbidden):  # L2 is still below L3
        services.case_submit(actor=world.applicant, item=world.l3_item, form_data=FORM, idempotency_key="b")


def test_registry_match_raises_to_l2_audited_and_on_the_evidence_log(world):
    user = user_real_name_verify(actor=world.applicant)
    assert user.real_name_level == 2
    world.applicant.refresh_from_db()
    assert world.applicant.real_name_level == User.RealNameLevel.L2
    event = AuditEvent.objects.get(action="user.real_name_level")
    assert event.changes["method"] == "registry_self" and event.changes["to"] == "L2"
    log = ExchangeLog.objects.filter(consumer_kind="app", consumer__startswith=f"{REAL_NAME_APP}:").get()
    assert log.registry == "population" and "实名核验" in log.purpose
    with pytest.raises(Conflict):
        user_real_name_verify(actor=world.applicant)


def test_a_name_that_does_not_match_is_refused_and_guessing_is_limited(world):
    world.applicant.real_name = "李四"
    world.applicant.save(update_fields=["real_name"])
    for _attempt in range(5):
        with pytest.raises(ValidationFailed) as refused:
            user_real_name_verify(actor=world.applicant)
        assert refused.value.code == "real_name_mismatch"
    world.applicant.real_name = "张三" if world.applicant.real_name != "张三" else world.applicant.real_name
    with pytest.raises(RateLimited):
        user_real_name_verify(actor=world.applicant)
    world.applicant.refresh_from_db()
    assert world.applicant.real_name_level == 1
    assert not AuditEvent.objects.filter(action="user.real_name_level").exists()


def test_without_identity_grant_the_check_says_so(world):
    from yiwang.exchange.models import Grant

    for grant in Grant.objects.filter(consumer_app=REAL_NAME_APP):
        exchange.grant_revoke(actor=world.tree.root, grant=grant, reason="测试")
    gateway.invalidate()
    with pytest.raises(Conflict) as refused:
        user_real_name_verify(actor=world.applicant)
    assert refused.value.code == "registry_unavailable"


def test_pages_show_the_level_and_verify_in_one_click(world, client):
    client.force_login(world.applicant)
    apply_url = reverse("cases:apply", args=[world.l2_item.implementation_code])
    page = client.get(apply_url)
    assert page.status_code == 200
    assert 'id="level-needed"' in page.content.decode()
    guide = client.get(reverse("services:item", args=[world.l2_item.implementation_code]))
    assert "申报所需实名等级" in guide.content.decode()
    level_page = client.get(reverse("identity:real_name"), {"next": apply_url})
    assert "立即核验" in level_page.content.decode()
    answer = client.post(reverse("identity:real_name"), {"next": apply_url})
    assert answer.status_code == 302 and answer["Location"] == apply_url
    world.applicant.refresh_from_db()
    assert world.applicant.real_name_level == 2
    assert 'id="level-needed"' not in client.get(apply_url).content.decode()
    account = client.get(reverse("portal:account")).content.decode()
    assert "L2" in account


def test_a_failed_check_is_shown_on_the_page(world, client):
    world.applicant.real_name = "王五"
    world.applicant.save(update_fields=["real_name"])
    client.force_login(world.applicant)
    answer = client.post(reverse("identity:real_name"), follow=True)
    assert "不一致" in answer.content.decode()
    world.applicant.refresh_from_db()
    assert world.applicant.real_name_level == 1


def test_the_window_clerk_checks_in_person_and_raises_to_l3(world, client):
    client.force_login(world.clerk)
    client.get(reverse("cases_workbench:window"), {"id_number": world.applicant.id_number})
    page = client.get(reverse("cases_workbench:window")).content.decode()
    assert 'id="real-name-level"' in page and "L1" in page
    # Without the confirmation box nothing changes.
    client.post(reverse("cases_workbench:window_real_name"))
    world.applicant.refresh_from_db()
    assert world.applicant.real_name_level == 1
    client.post(reverse("cases_workbench:window_real_name"), {"checked_in_person": "1"})
    world.applicant.refresh_from_db()
    assert world.applicant.real_name_level == 3
    assert AuditEvent.objects.get(action="user.real_name_level").changes["method"] == "in_person"
    _case, created = services.case_submit(
        actor=world.applicant, item=world.l3_item, form_data=FORM, idempotency_key="c"
    )
    assert created


def test_the_window_refuses_an_applicant_below_the_level_with_the_way_to_check(world):
    with pytest.raises(Forbidden) as refused:
        services.case_submit(
            actor=world.clerk,
            applicant=world.applicant,
            channel="window",
            item=world.l3_item,
            form_data=FORM,
            idempotency_key="w",
        )
    assert "当面核验" in str(refused.value.message)


def test_a_citizen_cannot_use_the_window_check(world, client):
    client.force_login(world.applicant)
    assert client.post(reverse("cases_workbench:window_real_name"), {"checked_in_person": "1"}).status_code == 404
