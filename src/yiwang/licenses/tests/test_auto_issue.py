"""Approving a case whose item outputs a license type puts a signed license in the applicant's wallet."""

import pytest

from yiwang.cases import services as case_services
from yiwang.cases.tests.factories import FORM, ID_NUMBER, attach_required, build_world
from yiwang.core.codes import make_uscc
from yiwang.core.models import AuditEvent
from yiwang.identity.services import department_update
from yiwang.licenses.models import HolderKind, License
from yiwang.licenses.selectors import license_verify, licenses_for_holder
from yiwang.licenses.services import license_type_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def world():
    world = build_world()
    department_update(actor=world.tree.root, department=world.tree.city_market, uscc=make_uscc("11320500MB0123456"))
    return world


def _approve(world, django_capture_on_commit_callbacks):
    case, _ = case_services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    attach_required(case)
    case = case_services.case_accept(actor=world.clerk, case_id=case.pk)
    case = case_services.case_claim(actor=world.reviewer, case_id=case.pk)
    case_services.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="符合条件")
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_decide(actor=world.head, case_id=case.pk, decision="approve")
    return case


def _define_type(world, schema):
    return license_type_create(
        actor=world.tree.root,
        code="business_license",
        standard_code="YYZZ",
        name="营业执照",
        department=world.tree.city_market,
        holder_kind=HolderKind.PERSON,
        field_schema=schema,
    )


def test_approval_issues_a_signed_license_into_the_wallet(world, django_capture_on_commit_callbacks):
    _define_type(
        world,
        {
            "type": "object",
            "properties": {"business_name": {"type": "string", "title": "名称"}},
            "required": ["business_name"],
        },
    )
    case = _approve(world, django_capture_on_commit_callbacks)
    lic = License.objects.get(source_case_id=case.pk)
    assert lic.holder_name == "张三" and lic.holder_id == ID_NUMBER and lic.data == {"business_name": "张三小吃店"}
    assert lic.issuer == world.tree.city_market
    assert list(licenses_for_holder(actor=world.applicant)) == [lic]
    assert license_verify(identifier=lic.identifier).result == "valid"
    event = AuditEvent.objects.get(action="licenses.issued")
    assert event.actor_repr == "licenses.auto_issue" and ID_NUMBER not in str(event.changes)
    # Delivered again (a retried task): still one license.
    from yiwang.licenses.subscribers import issue_for_case

    assert issue_for_case(case.pk) == lic
    assert License.objects.count() == 1


def test_facts_that_do_not_fit_the_type_are_recorded_not_issued(world, django_capture_on_commit_callbacks):
    _define_type(
        world,
        {"type": "object", "properties": {"capital": {"type": "number", "title": "资金数额"}}, "required": ["capital"]},
    )
    case = _approve(world, django_capture_on_commit_callbacks)
    assert not License.objects.exists()
    failure = AuditEvent.objects.get(action="licenses.auto_issue_failed")
    assert failure.object_id == str(case.pk) and "资金数额" in str(failure.changes)


def test_no_license_type_defined_means_no_license(world, django_capture_on_commit_callbacks):
    _approve(world, django_capture_on_commit_callbacks)
    assert not License.objects.exists()
