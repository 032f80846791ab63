"""Excel export of a 亩均效益综合评价 (the layout county bureaus file: title, weights, one row
per enterprise with its indicators, score, class and measures)."""

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from yiwang.supervision import mu
from yiwang.supervision.models import MuEvaluation

RAW = (
    ("land_area_mu", "用地面积(亩)"),
    ("tax_paid", "实缴税金(万元)"),
    ("output_value", "工业总产值(万元)"),
    ("energy_use", "综合能耗(吨标准煤)"),
    ("employees", "年平均职工人数"),
    ("rd_spend", "研发经费支出(万元)"),
)


def mu_evaluation_xlsx(evaluation: MuEvaluation) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = f"{evaluation.year}年度亩均效益评价"
    headers = ["序号", "企业名称", "统一社会信用代码", *[label for _k, label in RAW], *mu.INDICATORS.values()]
    headers += ["综合得分", "分类", "差别化措施"]
    ws.append([f"{evaluation.year}年度工业企业亩均效益综合评价结果"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    weights = ";".join(f"{mu.INDICATORS[k]} {v}%" for k, v in evaluation.weights.items())
    lines = evaluation.thresholds
    ws.append([f"指标权重:{weights};分类得分线:A≥{lines['A']},B≥{lines['B']},C≥{lines['C']},其余为D"])
    ws.append(headers)
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for n, r in enumerate(evaluation.results.all(), start=1):
        ind = r.indicators
        ws.append(
            [n, r.name, r.uscc]
            + [_num(ind.get(k)) for k, _label in RAW]
            + [_num(ind.get(k)) for k in mu.INDICATORS]
            + [float(r.score), r.klass, ";".join(r.measures)]
        )
    ws.freeze_panes = "D4"
    for column, width in (("B", 30), ("C", 22)):
        ws.column_dimensions[column].width = width
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _num(value):
    return None if value in (None, "") else float(value)
