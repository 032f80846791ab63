"""Demo 政务公开 and 意见征集 of 示范市: two policy documents with their interpretation and Q&A
(written after the seeds' 数字政府 documents), an open consultation of the 市场监督管理局 with a
published and a pending comment, and a closed one of the 大数据局 whose summary of what was
adopted and why is published. Idempotent: a second run changes nothing."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

DOCUMENTS = [
    {
        "department": "SFS",
        "title": "示范市人民政府关于推进数字政府建设的实施意见",
        "doc_number": "示政发〔2026〕3号",
        "summary": "到2027年，政务服务事项全程网办率达到90%以上，高频事项“掌上办”“一件事一次办”全覆盖。",
        "body": (
            "各县（区）人民政府，市政府各部门：\n"
            "为深入推进“互联网+政务服务”，加快数字政府建设，提升政务服务“一网通办”水平，结合本市实际，提出如下意见。\n"
            "一、总体目标。到2027年，政务服务事项全程网办率达到90%以上；高频事项实现“掌上办”“一件事一次办”；"
            "电子证照在政务服务中全面应用，申请材料能免尽免。\n"
            "二、主要任务。（一）统一政务服务事项目录，实行同一事项同一标准；（二）推进电子证照互认共享，"
            "凡可通过共享获取的材料一律免于提交；（三）推行“免申即享”，惠企利民政策精准推送；"
            "（四）建设公共数据开放平台，依法有序开放公共数据。\n"
            "三、保障措施。各部门主要负责同志为第一责任人，市政务服务和大数据管理局负责统筹协调和督促检查。"
        ),
        "interpretations": [
            (
                "《关于推进数字政府建设的实施意见》政策解读",
                "一、为什么制定。群众和企业办事仍存在材料多、跑腿多、标准不一等问题，需要以数字化改革破解。\n"
                "二、主要内容。《实施意见》明确了全程网办、掌上办、一件事一次办、电子证照、免申即享、公共数据开放六项重点。\n"
                "三、对群众和企业有什么变化。办事时可通过电子证照免交身份证、营业执照等材料；"
                "出生、开办企业、二手房转移等“一件事”可一次申请；符合条件的惠企政策无需申请即可享受。",
            )
        ],
        "questions": [
            ("办事时还需要带身份证复印件吗？", "不需要。已纳入电子证照库的证照，经授权由系统核验，免交复印件。"),
            ("哪些事项可以“一件事一次办”？", "目前已上线出生、开办企业、二手房转移登记等一件事，后续将逐步扩展。"),
        ],
    },
    {
        "department": "SFS-SJJ",
        "title": "示范市公共数据开放管理办法",
        "doc_number": "示数据发〔2026〕5号",
        "summary": "公共数据按无条件开放、有条件开放、不予开放分类分级管理；个人信息不予开放。",
        "body": (
            "第一条 为规范公共数据开放，促进数据要素依法有序流动，制定本办法。\n"
            "第二条 公共数据分为无条件开放、有条件开放和不予开放三类。涉及个人信息、商业秘密的数据不予开放，"
            "经依法脱敏、汇总处理的除外。\n"
            "第三条 有条件开放的数据，使用人应当提出申请并说明用途，经数据提供部门同意后通过个人密钥访问。\n"
            "第四条 市政务服务和大数据管理局负责公共数据开放平台的建设和运行维护。"
        ),
        "interpretations": [
            (
                "一图读懂《公共数据开放管理办法》",
                "本办法明确了公共数据“分类分级、安全可控”的开放原则：能开放的无条件开放，"
                "需要控制使用范围的有条件开放，涉及个人信息的一律不予开放。企业和开发者可通过开放平台下载数据或调用接口。",
            )
        ],
        "questions": [
            ("个人信息会被开放吗？", "不会。涉及个人信息的数据不予开放，只开放经汇总、脱敏处理后的统计数据。"),
            ("怎样申请有条件开放的数据？", "在数据集页面登录后填写数据用途提交申请，提供部门审核同意后发放个人密钥。"),
        ],
    },
]

OPEN_TITLE = "《示范市个体工商户登记便利化若干措施（征求意见稿）》公开征求意见"
CLOSED_TITLE = "《示范市政务服务“好差评”管理办法（征求意见稿）》公开征求意见"


@transaction.atomic
def load(actor=None) -> dict:
    from yiwang.identity.models import Department, User
    from yiwang.publicity import services
    from yiwang.publicity.models import Consultation, PolicyDocument

    made = {"documents": 0, "consultations": 0}
    departments = {d.code: d for d in Department.objects.filter(code__in=["SFS", "SFS-SJJ", "SFS-SCJG"])}
    if len(departments) < 3:
        return made  # the demo city is not loaded
    for spec in DOCUMENTS:
        if PolicyDocument.objects.filter(title=spec["title"]).exists():
            continue
        services.document_publish(
            actor=actor,
            department=departments[spec["department"]],
            **{k: v for k, v in spec.items() if k != "department"},
        )
        made["documents"] += 1
    citizens = list(User.objects.filter(username__in=["citizen01", "citizen02", "citizen03"]).order_by("username"))
    today = timezone.localdate()
    if not Consultation.objects.filter(title=OPEN_TITLE).exists():
        open_one = services.consultation_open(
            actor=actor,
            department=departments["SFS-SCJG"],
            title=OPEN_TITLE,
            description="为进一步降低个体工商户登记成本，我局起草了征求意见稿，现公开征求社会各界意见。",
            draft_text=(
                "一、个体工商户设立登记实行“一网通办”，网上申请材料齐全的，当日办结。\n"
                "二、经营者变更的，可直接申请变更登记，无需注销后重新设立。\n"
                "三、住所（经营场所）实行申报承诺制，无需提交产权证明。"
            ),
            opens_on=today - datetime.timedelta(days=3),
            closes_on=today + datetime.timedelta(days=27),
        )
        made["consultations"] += 1
        if citizens:
            first = services.comment_post(
                actor=citizens[0], consultation=open_one, body="建议把夜市摊位也纳入住所申报承诺制，方便小商户。"
            )
            services.comment_moderate(actor=actor, comment=first, publish=True)
        if len(citizens) > 1:
            services.comment_post(
                actor=citizens[1], consultation=open_one, body="希望变更登记也能在手机上办，不用跑窗口。"
            )
    if not Consultation.objects.filter(title=CLOSED_TITLE).exists():
        closed = services.consultation_open(
            actor=actor,
            department=departments["SFS-SJJ"],
            title=CLOSED_TITLE,
            description="为规范政务服务评价工作，起草了本办法征求意见稿。",
            draft_text="第一条 政务服务评价实行“一事一评”。\n第二条 差评应当在5个工作日内回访整改。",
            opens_on=today - datetime.timedelta(days=60),
            closes_on=today + datetime.timedelta(days=1),
        )
        decisions = {}
        for number, citizen in enumerate(citizens[:2]):
            body = ["建议差评整改结果向评价人反馈。", "建议把整改时限缩短为3个工作日。"][number]
            comment = services.comment_post(actor=citizen, consultation=closed, body=body)
            services.comment_moderate(actor=actor, comment=comment, publish=True)
            decisions[comment.pk] = [
                (True, "采纳。已在第二条增加“整改结果告知评价人”。"),
                (False, "未采纳。部分差评需跨部门核实，5个工作日是必要的办理时间。"),
            ][number]
        services.consultation_summarize(
            actor=actor,
            consultation=closed,
            summary="征求意见期间共收到意见2条，采纳1条，未采纳1条。未采纳的理由已逐条说明。",
            decisions=decisions,
        )
        made["consultations"] += 1
    return made


def summary(result: dict) -> str:
    return f"政务公开: {result['documents']} 份政策文件, {result['consultations']} 项意见征集"
