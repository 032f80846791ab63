"""The demo city gets an online and a walk-in case through to delivery, and a rerun changes nothing."""

import io

import pytest
from django.core.management import call_command

from yiwang.cases import demo_data
from yiwang.cases.models import Case, CaseBundle, CaseState, Channel
from yiwang.cases.selectors import case_intake_queue
from yiwang.identity.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_cases(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo", "--city-only", stdout=io.StringIO())
    from yiwang.catalog import demo_data as catalog_demo

    catalog_demo.load(None)
    created = demo_data.load(None)
    assert len(created) == 9
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
        "citizen05": CaseState.SUBMITTED,
        "citizen06": CaseState.SUBMITTED,
    }
    assert Case.objects.get(applicant__username="citizen02").channel == Channel.WINDOW
    # Two halls in different regions, each with its own front-office queue.
    dongyuan = Case.objects.get(applicant__username="citizen05")
    xiling = Case.objects.get(applicant__username="citizen06")
    assert dongyuan.intake_region == "610323" and xiling.intake_region == "610324"
    staff = {u.username: u for u in User.objects.filter(username__in=["dyx_spj_clerk", "xlx_spj_clerk", "scjg_clerk"])}

    def queue(name):
        return set(
            case_intake_queue(actor=staff[name]).filter(bundle=None).values_list("applicant__username", flat=True)
        )

    assert queue("dyx_spj_clerk") == {"citizen05"}
    assert queue("xlx_spj_clerk") == {"citizen06"}
    assert queue("scjg_clerk") == {"citizen03"}  # the city hall: city-level cases only
    assert demo_data.load(None) == [] and Case.objects.filter(bundle=None).count() == 6
    assert CaseBundle.objects.count() == 1 and Case.objects.count() == 9
