"""亩均效益评价: indicators from the 经济 registry, weights that must sum to 100 %, classes,
measures, publication and the Excel export."""

from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from yiwang.core.errors import Conflict, Forbidden, ValidationFailed
from yiwang.registries import services as registry_services
from yiwang.supervision import mu, services
from yiwang.supervision.tests.factories import build

pytestmark = pytest.mark.django_db


def test_weights_not_summing_to_100_are_named_with_the_sum():
    weights = {**mu.DEFAULT_WEIGHTS, "tax_per_mu": 45}
    with pytest.raises(mu.ConfigError) as exc:
        mu.check_config(weights, mu.DEFAULT_THRESHOLDS)
    assert "105" in str(exc.value) and exc.value.field == "weights"
    with pytest.raises(mu.ConfigError):
        mu.check_config(mu.DEFAULT_WEIGHTS, {"A": 50, "B": 70, "C": 40})
    with pytest.raises(mu.ConfigError):
        mu.check_config({**mu.DEFAULT_WEIGHTS, "tax_per_mu": "NaN"}, mu.DEFAULT_THRESHOLDS)


def test_scores_are_weighted_ratios_to_the_average_capped():
    rows = [
        {
            "uscc": "X1",
            "tax_paid": 300,
            "output_value": 3000,
            "energy_use": 100,
            "land_area_mu": 10,
            "employees": 100,
            "rd_spend": 90,
        },
        {
            "uscc": "X2",
            "tax_paid": 100,
            "output_value": 1000,
            "energy_use": 100,
            "land_area_mu": 10,
            "employees": 100,
            "rd_spend": 30,
        },
    ]
    out = mu.evaluate(rows, mu.DEFAULT_WEIGHTS, mu.DEFAULT_THRESHOLDS)
    # X1 is 1.5× the average everywhere but R&D intensity (equal: 3 %): 90 × 1.5 + 10 × 1.0
    assert [(r["uscc"], r["score"], r["klass"]) for r in out] == [
        ("X1", Decimal("145.00"), "A"),
        ("X2", Decimal("55.00"), "C"),
    ]
    assert out[0]["indicators"]["tax_per_mu"] == "30.00" and out[1]["measures"] == mu.MEASURES["C"]


def test_the_years_evaluation_is_run_published_and_exported(client):
    w = build(n_entities=5, n_inspectors=2)
    registry_services.records_upsert(
        actor="test",
        registry="economy",
        rows=[
            {
                "uscc": u,
                "year": 2025,
                "tax_paid": 50 * (i + 1),
                "output_value": 800 * (i + 1),
                "energy_use": 100,
                "land_area_mu": 20,
                "employees": 50,
                "rd_spend": 10 * i,
            }
            for i, u in enumerate(w.usccs)
        ],
    )
    with pytest.raises(Forbidden):
        services.mu_evaluation_run(actor=w.health_head, year=2025)
    with pytest.raises(ValidationFailed) as exc:
        services.mu_evaluation_run(actor=w.base.tree.root, year=2025, weights={**mu.DEFAULT_WEIGHTS, "rd_intensity": 5})
    assert exc.value.code == "supervision_mu_config_invalid" and "95" in exc.value.message
    evaluation = services.mu_evaluation_run(actor=w.base.tree.root, year=2025)
    assert evaluation.results.count() == 5
    assert client.get("/supervision/mu/2025/").status_code == 404  # not yet published
    services.mu_evaluation_publish(actor=w.base.tree.root, year=2025)
    with pytest.raises(Conflict):
        services.mu_evaluation_run(actor=w.base.tree.root, year=2025)
    page = client.get("/supervision/mu/2025/").content.decode()
    assert "苏州测试4有限公司" in page
    book = load_workbook(BytesIO(client.get("/supervision/mu/2025.xlsx").content))
    sheet = book.active
    assert sheet["A1"].value == "2025年度工业企业亩均效益综合评价结果"
    assert sheet.cell(row=3, column=2).value == "企业名称"
    assert sheet.cell(row=4, column=2).value == "苏州测试4有限公司"
    classes = [sheet.cell(row=r, column=sheet.max_column - 1).value for r in range(4, 9)]
    assert classes[0] == "A" and classes[-1] in "CD"
    api = client.get("/api/v1/supervision/mu/2025").json()
    assert len(api["results"]) == 5 and api["results"][0]["klass"] == "A"
