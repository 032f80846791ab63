"""亩均效益评价 (per-mu efficiency evaluation, the 浙江 method) as pure computation.

Indicators per enterprise, from the 经济 registry (one year):

* ``tax_per_mu``         亩均税收 = 实缴税金 / 用地面积 (万元/亩)
* ``output_per_mu``      亩均产值 = 工业总产值 / 用地面积 (万元/亩)
* ``output_per_energy``  单位能耗产值 = 工业总产值 / 综合能耗 (万元/吨标准煤)
* ``labour_productivity`` 全员劳动生产率 = 工业总产值 / 年平均职工人数 (万元/人)
* ``rd_intensity``       研发经费投入强度 = 研发经费 / 工业总产值 × 100 (%)

Each indicator scores ``weight × min(value / benchmark, cap)`` where the benchmark is the
average over the evaluated enterprises (a missing value or a zero benchmark scores 0); the
weights (percent) must sum to exactly 100; the score is the sum; classes by the configured
score lines (A ≥ a, B ≥ b, C ≥ c, else D). Each class carries its differentiated measures
(电价, 用地, 排污).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

INDICATORS = {
    "tax_per_mu": "亩均税收(万元/亩)",
    "output_per_mu": "亩均产值(万元/亩)",
    "output_per_energy": "单位能耗产值(万元/吨标准煤)",
    "labour_productivity": "全员劳动生产率(万元/人)",
    "rd_intensity": "研发经费投入强度(%)",
}
DEFAULT_WEIGHTS = {
    "tax_per_mu": 40,
    "output_per_mu": 20,
    "output_per_energy": 20,
    "labour_productivity": 10,
    "rd_intensity": 10,
}
DEFAULT_THRESHOLDS = {"A": 100, "B": 70, "C": 40}
CAP = Decimal("1.5")
MEASURES = {
    "A": ["电价:不实行加价,优先保障用电", "用地:优先安排新增建设用地指标", "排污:优先配置排污权指标"],
    "B": ["电价:不实行加价", "用地:正常保障", "排污:正常配置"],
    "C": ["电价:每千瓦时加价 0.1 元", "用地:从严控制新增用地", "排污:从严配置排污权"],
    "D": ["电价:每千瓦时加价 0.3 元", "用地:不予新增用地", "排污:不予新增排污权,限期整治提升"],
}


class ConfigError(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ConfigError("weights", "权重须为数字") from None


def check_config(weights: dict, thresholds: dict) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Parsed (weights, thresholds) or ``ConfigError`` naming what is wrong (before anything is stored)."""
    if not isinstance(weights, dict) or set(weights) != set(INDICATORS):
        raise ConfigError("weights", "须为每项指标给出权重:" + "、".join(INDICATORS))
    parsed = {k: _decimal(v) for k, v in weights.items()}
    if any(not v.is_finite() or v < 0 for v in parsed.values()):
        raise ConfigError("weights", "权重不能为负数")
    total = sum(parsed.values())
    if total != 100:
        raise ConfigError("weights", f"各项指标权重之和须为 100%,现为 {total}%")
    if not isinstance(thresholds, dict) or set(thresholds) != {"A", "B", "C"}:
        raise ConfigError("thresholds", "须给出 A、B、C 三条分类得分线")
    lines = {k: _decimal(v) for k, v in thresholds.items()}
    if not all(v.is_finite() for v in lines.values()) or not lines["A"] > lines["B"] > lines["C"] >= 0:
        raise ConfigError("thresholds", "分类得分线须 A > B > C ≥ 0")
    return parsed, lines


def _ratio(numerator, denominator) -> Decimal | None:
    if numerator is None or denominator in (None, 0):
        return None
    return Decimal(numerator) / Decimal(denominator)


def indicators_of(row: dict) -> dict[str, Decimal | None]:
    rd = _ratio(row.get("rd_spend"), row.get("output_value"))
    return {
        "tax_per_mu": _ratio(row.get("tax_paid"), row.get("land_area_mu")),
        "output_per_mu": _ratio(row.get("output_value"), row.get("land_area_mu")),
        "output_per_energy": _ratio(row.get("output_value"), row.get("energy_use")),
        "labour_productivity": _ratio(row.get("output_value"), row.get("employees")),
        "rd_intensity": None if rd is None else rd * 100,
    }


def evaluate(rows: list[dict], weights: dict, thresholds: dict) -> list[dict]:
    """[{uscc, name, indicators (str, 2 places), score (Decimal), klass, measures}], best first."""
    weights, lines = check_config(weights, thresholds)
    values = [(row, indicators_of(row)) for row in rows if row.get("land_area_mu")]
    benchmarks = {}
    for key in INDICATORS:
        present = [v[key] for _row, v in values if v[key] is not None]
        benchmarks[key] = sum(present) / len(present) if present else Decimal(0)
    out = []
    q = Decimal("0.01")
    for row, v in values:
        score = Decimal(0)
        for key, weight in weights.items():
            if v[key] is not None and benchmarks[key] > 0:
                score += weight * min(v[key] / benchmarks[key], CAP)
        score = score.quantize(q, rounding=ROUND_HALF_UP)
        klass = "A" if score >= lines["A"] else "B" if score >= lines["B"] else "C" if score >= lines["C"] else "D"
        out.append(
            {
                "uscc": row["uscc"],
                "name": row.get("name", ""),
                "indicators": {
                    **{k: (None if x is None else str(x.quantize(q, rounding=ROUND_HALF_UP))) for k, x in v.items()},
                    **{
                        k: (None if row.get(k) is None else str(row[k]))
                        for k in ("tax_paid", "output_value", "energy_use", "land_area_mu", "employees", "rd_spend")
                    },
                },
                "score": score,
                "klass": klass,
                "measures": MEASURES[klass],
            }
        )
    out.sort(key=lambda r: (-r["score"], r["uscc"]))
    return out
