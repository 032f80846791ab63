"""With the smart-services models (免提交 evidence, 秒批 verdicts) present, the metrics read them;
skipped while the cases app does not have them (before that work is merged)."""

import pytest
from django.apps import apps
from django.utils import timezone

from yiwang.evaluation import selectors


def _model(name):
    try:
        return apps.get_model("cases", name)
    except LookupError:
        return None


pytestmark = pytest.mark.skipif(
    _model("CaseAutoCheck") is None or _model("CaseEvidence") is None, reason="cases has no 秒批/免提交 records yet"
)


def test_auto_share_and_exempt_materials_come_from_the_cases(world, case, refused):
    _model("CaseAutoCheck").objects.create(case=case, applied=True, outcome="approve")
    _model("CaseAutoCheck").objects.create(case=refused, applied=False, outcome="refer")
    _model("CaseEvidence").objects.create(
        case=case, name="营业执照", source="license", source_code="X", status="verified", checked_at=timezone.now()
    )
    row = selectors.service_metrics(actor=world.head, group="department")["rows"][0]
    assert row["auto_rate"] == 0.5
    assert row["material_reduction"] is not None and row["material_reduction"] > 0
