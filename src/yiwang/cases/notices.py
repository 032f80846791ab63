"""Written notices of a case as PDF (reportlab): 受理通知书, 不予受理通知书, 补正告知书 and the
decision (准予许可决定书 / 不予许可决定书), each with the case number, in Chinese; and the
申请书 generated from the case's form data (issue #14: not an upload), with a line for the
applicant's signature.

The font comes from ``yiwang.core.pdf``: WenQuanYi (Debian ``fonts-wqy-microhei``) when installed, else
reportlab's built-in CID font ``STSong-Light`` (no file needed; viewers supply the glyphs).
Output is deterministic for the same case (reportlab ``invariant``).
"""

import io

from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases.clock import local_day
from yiwang.cases.models import Case, CaseState, Decision, Supplement
from yiwang.core.errors import NotFound
from yiwang.core.pdf import pdf_font

NOTICE_KINDS = ("application", "acceptance", "refusal", "supplement", "decision")


def _cn_date(value) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _supplement(case: Case) -> Supplement | None:
    return Supplement.objects.filter(case=case).first()


def available_notices(case: Case, *, supplement: Supplement | None) -> list[str]:
    """The notices the case has (``supplement``: the case's notice row, already loaded, or None).
    Every submitted case has its 申请书."""
    kinds = ["application"] if case.submitted_at is not None else []
    if case.accepted_at is not None:
        kinds.append("acceptance")
    if case.state == CaseState.REFUSED:
        kinds.append("refusal")
    if supplement is not None:
        kinds.append("supplement")
    if case.decision:
        kinds.append("decision")
    return kinds


def _content(case: Case, kind: str) -> tuple[str, list[str], list[str], object]:
    """(title, paragraphs, numbered list, date of the act) of one notice."""
    name, item = case.applicant_name, case.item_version.name
    submitted = _cn_date(local_day(case.submitted_at))
    if kind == "acceptance":
        if case.accepted_at is None:
            raise NotFound(_("该办件尚未受理,没有受理通知书。"), code="notice_not_found")
        if case.deemed_accepted:
            basis = _(
                "本机关自收到申请材料之日起五个工作日内未告知补正,根据《中华人民共和国行政许可法》"
                "第三十二条第一款第(四)项的规定,自收到申请材料之日起即为受理。"
            )
        else:
            basis = _(
                "经审查,申请材料齐全、符合法定形式,根据《中华人民共和国行政许可法》"
                "第三十二条第一款第(五)项的规定,决定予以受理。"
            )
        due = _("本机关将于%(due)s前作出决定(补正期间不计入办理时限)。") % {"due": _cn_date(case.due_date)}
        return (
            _("受理通知书"),
            [
                _("%(name)s:") % {"name": name},
                _("你(单位)于%(day)s提出的“%(item)s”申请收悉。") % {"day": submitted, "item": item} + basis,
                due,
            ],
            [],
            local_day(case.accepted_at),
        )
    if kind == "refusal":
        if case.state != CaseState.REFUSED:
            raise NotFound(_("该办件没有不予受理通知书。"), code="notice_not_found")
        return (
            _("不予受理通知书"),
            [
                _("%(name)s:") % {"name": name},
                _(
                    "你(单位)于%(day)s提出的“%(item)s”申请,经审查,%(reason)s。根据《中华人民共和国行政许可法》"
                    "第三十二条第一款的规定,决定不予受理。"
                )
                % {"day": submitted, "item": item, "reason": case.refusal_reason.rstrip("。")},
                case.remedy_notice,
            ],
            [],
            local_day(case.updated_at),
        )
    if kind == "supplement":
        supplement = _supplement(case)
        if supplement is None:
            raise NotFound(_("该办件没有补正告知书。"), code="notice_not_found")
        paragraphs = [
            _("%(name)s:") % {"name": name},
            _(
                "你(单位)于%(day)s提出的“%(item)s”申请,申请材料不齐全或者不符合法定形式。根据《中华人民共和国"
                "行政许可法》第三十二条第一款第(四)项的规定,现一次性告知需要补正的全部内容如下:"
            )
            % {"day": submitted, "item": item},
        ]
        tail = [supplement.note] if supplement.note else []
        tail.append(
            _("请按上述要求补正后提交。补正期间不计入办理时限。")
            if not supplement.before_acceptance
            else _("请按上述要求补正后提交,本机关收到全部补正材料后依法作出是否受理的决定。")
        )
        items = [f"{entry['material']}:{entry['problem']}" for entry in supplement.items]
        return _("补正告知书"), [*paragraphs, "\n", *tail], items, local_day(supplement.requested_at)
    if kind == "decision":
        if not case.decision:
            raise NotFound(_("该办件尚未作出决定。"), code="notice_not_found")
        if case.decision == Decision.APPROVE:
            title = _("准予许可决定书")
            body = _(
                "你(单位)于%(day)s提出的“%(item)s”申请,经审查,符合法定条件、标准,根据《中华人民共和国"
                "行政许可法》第三十八条第一款的规定,决定准予许可。"
            ) % {"day": submitted, "item": item}
            paragraphs = [_("%(name)s:") % {"name": name}, body]
            if case.decision_reasons:
                paragraphs.append(case.decision_reasons)
        else:
            title = _("不予许可决定书")
            body = _(
                "你(单位)于%(day)s提出的“%(item)s”申请,经审查,%(reasons)s。根据《中华人民共和国行政许可法》"
                "第三十八条第二款的规定,决定不予许可。"
            ) % {
                "day": submitted,
                "item": item,
                "reasons": case.decision_reasons.rstrip("。"),
            }
            paragraphs = [_("%(name)s:") % {"name": name}, body, case.remedy_notice]
        return title, paragraphs, [], local_day(case.decided_at)
    raise NotFound(_("没有这种通知书。"), code="notice_not_found")


def notice_pdf(case: Case, kind: str) -> bytes:
    """The notice ``kind`` (acceptance, refusal, supplement, decision) of ``case`` as PDF bytes.
    ``NotFound`` if the case has no such notice (yet)."""
    from xml.sax.saxutils import escape

    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    if kind == "application":
        return application_pdf(case)
    title, paragraphs, items, day = _content(case, kind)
    font = pdf_font()
    base = ParagraphStyle("body", fontName=font, fontSize=12, leading=22, wordWrap="CJK", firstLineIndent=24)
    heading = ParagraphStyle("title", parent=base, fontSize=20, leading=30, alignment=TA_CENTER, firstLineIndent=0)
    meta = ParagraphStyle("meta", parent=base, fontSize=10.5, alignment=TA_CENTER, firstLineIndent=0)
    plain = ParagraphStyle("plain", parent=base, firstLineIndent=0)
    right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT, firstLineIndent=0)

    story = [
        Paragraph(escape(case.department.name), heading),
        Paragraph(escape(title), heading),
        Paragraph(escape(_("办件编号:%(number)s") % {"number": case.number}), meta),
        Spacer(1, 8 * mm),
    ]
    for index, text in enumerate(paragraphs):
        if text == "\n":
            for n, entry in enumerate(items, start=1):
                story.append(Paragraph(escape(f"{n}. {entry}"), base))
            continue
        story.append(Paragraph(escape(text), plain if index == 0 else base))
    story += [
        Spacer(1, 12 * mm),
        Paragraph(escape(case.department.name), right),
        Paragraph(escape(_cn_date(day or timezone.localdate())), right),
    ]
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=28 * mm,
        rightMargin=26 * mm,
        topMargin=30 * mm,
        bottomMargin=25 * mm,
        title=f"{title} {case.number}",
        author=case.department.name,
        invariant=True,
    )
    document.build(story)
    return out.getvalue()


def _form_rows(case: Case) -> list[tuple[str, str]]:
    """(title, value) of each answered form field, in the schema's order; yes/no in words."""
    schema = case.item_version.form_schema or {}
    data = case.form_data or {}
    rows = []
    for key, spec in (schema.get("properties") or {}).items():
        if key not in data or data[key] in (None, "", []):
            continue
        value = data[key]
        if isinstance(value, bool):
            value = _("是") if value else _("否")
        elif isinstance(value, list):
            value = "、".join(str(v) for v in value)
        rows.append((str(spec.get("title") or key), str(value)))
    return rows


def application_pdf(case: Case) -> bytes:
    """申请书: the applicant's data and the form as submitted, the materials handed in, the
    applicant's pledge and a line to sign. Deterministic for the same case (reportlab ``invariant``);
    the SM3 digest of the form data printed at the foot ties the paper to the case record."""
    import json
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from yiwang.core.gm import sm3_hex

    if case.submitted_at is None:
        raise NotFound(_("该办件尚未提交,没有申请书。"), code="notice_not_found")
    font = pdf_font()
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=18, wordWrap="CJK")
    label = ParagraphStyle("label", parent=body, textColor=colors.HexColor("#333333"))
    heading = ParagraphStyle("title", parent=body, fontSize=18, leading=28, alignment=TA_CENTER)
    meta = ParagraphStyle("meta", parent=body, fontSize=10, alignment=TA_CENTER)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=12, textColor=colors.HexColor("#555555"))

    def cell(text, style=body):
        return Paragraph(escape(str(text)), style)

    title = _("%(item)s申请书") % {"item": case.item_version.name}
    applicant = [
        (_("申请人"), case.applicant_name),
        (_("证件号码"), case.applicant_id_number),
        (_("联系电话"), case.applicant_phone or "—"),
        (_("申请事项"), case.item_version.name),
        (_("受理部门"), case.department.name),
        (_("申请日期"), _cn_date(local_day(case.submitted_at))),
    ]
    rows = [[cell(k, label), cell(v)] for k, v in applicant]
    rows += [[cell(k, label), cell(v)] for k, v in _form_rows(case)]
    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
            ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#F2F2F2")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    table = Table(rows, colWidths=[42 * mm, 112 * mm], style=grid)
    materials = [m.name for m in case.materials.all()]
    story = [
        Paragraph(escape(title), heading),
        Paragraph(escape(_("办件编号:%(number)s") % {"number": case.number}), meta),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 5 * mm),
        Paragraph(escape(_("随附材料:")) + escape("、".join(materials) if materials else _("无")), body),
        Spacer(1, 5 * mm),
        Paragraph(
            escape(_("申请人承诺:本申请书所填内容和所附材料真实、合法、有效,如有虚假,愿承担相应的法律责任。")),
            body,
        ),
        Spacer(1, 14 * mm),
        Paragraph(escape(_("申请人(签名或盖章):____________________　　日期:______年____月____日")), body),
        Spacer(1, 16 * mm),
        Paragraph(
            escape(
                _("本申请书由一网通办平台根据网上申请表生成。申请表摘要(SM3):%(digest)s")
                % {"digest": sm3_hex(json.dumps(case.form_data or {}, ensure_ascii=False, sort_keys=True))}
            ),
            small,
        ),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=28 * mm,
        rightMargin=26 * mm,
        topMargin=25 * mm,
        bottomMargin=22 * mm,
        title=f"{title} {case.number}",
        author=case.applicant_name,
        invariant=True,
    ).build(story)
    return out.getvalue()
