"""The demo city's documents and rosters: an issued notice partly acknowledged, one mid-route,
a week of shifts with someone on duty now; a rerun changes nothing."""

import io

import pytest
from django.core.management import call_command

from yiwang.documents import demo_data, selectors
from yiwang.documents.models import Document, DutyShift, DutySwap
from yiwang.identity.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_documents_and_duty(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo", "--city-only", stdout=io.StringIO())
    summary = demo_data.load(None)
    assert summary == {"documents": 2, "shifts": 14}
    issued = Document.objects.get(title=demo_data.ISSUED_TITLE)
    assert issued.state == "issued" and bytes(issued.pdf).startswith(b"%PDF")
    acknowledged = {r.department.code: r.acknowledged_at is not None for r in issued.receipts.all()}
    assert acknowledged == {"SFS-GAJ": True, "SFS-SJJ": False, "SFS-MZJ": False}
    routing = Document.objects.get(title=demo_data.ROUTING_TITLE)
    assert routing.state == "routing"
    sjj_head = User.objects.get(username="sjj_head")
    assert [s.document for s in selectors.steps_todo(actor=sjj_head)] == [routing]
    assert {s.department.code for s in selectors.duty_on_now()} == {"SFS-SCJG", "SFS-GAJ"}
    assert DutySwap.objects.filter(state="requested").count() == 1
    assert demo_data.load(None) == {"documents": 0, "shifts": 0}
    assert Document.objects.count() == 2 and DutyShift.objects.count() == 14
