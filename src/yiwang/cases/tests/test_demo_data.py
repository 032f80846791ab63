"""The demo city gets an online and a walk-in case through to delivery, and a rerun changes nothing."""

import io

import pytest
from django.core.management import call_command

from yiwang.cases import demo_data
from yiwang.cases.models import Case, CaseBundle, CaseState, Channel

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_cases(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo", "--city-only", stdout=io.StringIO())
    from yiwang.catalog import demo_data as catalog_demo

    catalog_demo.load(None)
    created = demo_data.load(None)
    assert len(created) == 7
    bundle = CaseBundle.objects.get(applicant__username="citizen07")
    assert bundle.life_event_version.name == "二手房转移登记一件事"
    assert sorted(bundle.cases.values_list("department__code", flat=True)) == ["SFS-SJJ", "SFS-SWJ", "SFS-ZRZY"]
    assert bundle.cases.filter(state=CaseState.ACCEPTED).count() == 1
    states = dict(Case.objects.filter(bundle=None).values_list("applicant__username", "state"))
    assert states == {
        "citizen01": CaseState.DELIVERED,
        "citizen02": CaseState.DELIVERED,
        "citizen03": CaseState.SUBMITTED,
        "citizen04": CaseState.UNDER_REVIEW,
    }
    assert Case.objects.get(applicant__username="citizen02").channel == Channel.WINDOW
    assert demo_data.load(None) == [] and Case.objects.count() == 7 and CaseBundle.objects.count() == 1
