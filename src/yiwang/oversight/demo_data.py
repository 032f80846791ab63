"""Demo key tasks of 示范市 (督查督办), loaded by ``yiwang demo`` after the city.

Through the services, as people would: the oversight office (``dcs_office``, 督查室) turns a
dozen leaders' instructions, meeting decisions and key projects into tasks for the city's
agencies, with milestones dated around today so that every light shows — green, yellow (a
milestone within the warning window), red (a milestone already past), done (every milestone
reported and accepted); departments report progress with evidence files, the office returns
one report, urges the red tasks and rates the finished ones. ``city_leader`` (市领导) sees all
and receives the escalations. Idempotent: a task whose title exists is left as it is.
"""

from __future__ import annotations

import datetime

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from yiwang.oversight import services
from yiwang.oversight.models import KeyTask, Member

SYSTEM = "system:demo"
PASSWORD = "Demo@2026yw"  # noqa: S105 - the published demo password (yiwang.demo.city.DEMO_PASSWORD)
ACCOUNTS = [
    ("dcs_office", "督查室(市政府办公室)", "秦晓岚", Member.Role.OFFICE),
    ("city_leader", "市领导(常务副市长)", "韩立新", Member.Role.LEADER),
]
# A one-page PDF: the evidence the demo's reports carry (read by content, stored by SM3 digest).
EVIDENCE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

# (light, title, source kind, source ref, lead suffix, co suffixes, deadline in days,
#  milestones: (title, due in days, evidence), what happens: "report" | "return" | "done" | "urge")
TASKS = [
    (
        "green",
        "推进“一件事一次办”扩面增效",
        "meeting",
        "市政府常务会议纪要〔2026〕18号",
        "SPJ",
        ["SJJ"],
        150,
        [("梳理新增一件事清单", 30, ["事项清单"]), ("上线运行", 120, ["上线通知", "运行截图"])],
        "report",
    ),
    (
        "green",
        "城区停车设施补短板",
        "project",
        "2026年市重点项目第7号",
        "JTJ",
        ["ZJJ", "ZRZY"],
        200,
        [("完成选址规划", 40, ["规划批复"]), ("开工建设", 150, ["施工许可"])],
        "",
    ),
    (
        "green",
        "公共数据资源目录全覆盖",
        "instruction",
        "市领导批示〔2026〕31号",
        "SJJ",
        [],
        120,
        [("部门目录编制", 35, ["目录清单"])],
        "",
    ),
    (
        "green",
        "基层医疗卫生服务能力提升",
        "project",
        "2026年市重点项目第12号",
        "WJW",
        ["RSJ"],
        180,
        [("完成乡镇卫生院评估", 45, ["评估报告"])],
        "",
    ),
    (
        "yellow",
        "经营主体登记注册便利化",
        "instruction",
        "市领导批示〔2026〕26号",
        "SCJG",
        ["SPJ"],
        90,
        [("出台登记便利化措施", 1, ["措施文件", "会议纪要"]), ("开展政策宣传", 60, [])],
        "report",
    ),
    (
        "yellow",
        "义务教育学校课后服务全覆盖",
        "meeting",
        "市教育工作领导小组会议纪要〔2026〕3号",
        "JYJ",
        [],
        60,
        [("制定课后服务方案", 2, ["方案文本"])],
        "",
    ),
    ("yellow", "城乡居民医保参保扩面", "instruction", "市领导批示〔2026〕40号", "YBJ", ["MZJ"], 3, [], ""),
    (
        "red",
        "老旧小区改造年度任务",
        "project",
        "2026年市重点项目第3号",
        "ZJJ",
        ["ZRZY"],
        45,
        [("完成居民意见征询", -12, ["征询汇总"]), ("全面开工", 30, ["开工照片"])],
        "urge",
    ),
    (
        "red",
        "食品安全“两个责任”落实",
        "meeting",
        "市食安委全体会议纪要〔2026〕2号",
        "SCJG",
        [],
        70,
        [("完成包保责任清单", -5, ["责任清单"]), ("督导检查全覆盖", 50, ["检查记录"])],
        "return",
    ),
    (
        "red",
        "重点群体就业帮扶",
        "instruction",
        "市领导批示〔2026〕15号",
        "RSJ",
        ["MZJ"],
        40,
        [("建立帮扶台账", -20, ["帮扶台账"])],
        "urge",
    ),
    (
        "done",
        "政务服务事项标准化梳理",
        "meeting",
        "市政府常务会议纪要〔2026〕9号",
        "SPJ",
        [],
        30,
        [("完成事项梳理", -40, ["梳理清单"]), ("发布实施清单", -10, ["发布通知"])],
        "done",
    ),
    (
        "done",
        "全市户籍业务“跨省通办”",
        "instruction",
        "市领导批示〔2026〕8号",
        "GAJ",
        [],
        20,
        [("开通跨省通办业务", -25, ["开通通知"])],
        "done",
    ),
]


class Summary(list):
    def summary(self) -> str:
        lights = {}
        for light in self:
            lights[light] = lights.get(light, 0) + 1
        parts = "、".join(f"{k} {v}" for k, v in lights.items())
        return f"督办任务 {len(self)} 项(新建:{parts or '无'}),已有的不变"


def _accounts() -> dict:
    from django.contrib.auth import get_user_model

    from yiwang.identity.services import user_create

    User = get_user_model()
    users = {}
    password_hash = make_password(PASSWORD)
    for username, _title, name, role in ACCOUNTS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                actor=SYSTEM, username=username, kind="staff", real_name=name, password_hash=password_hash
            )
        services.member_set(actor=SYSTEM, user=user, role=role)
        users[username] = user
    return users


def _people() -> dict:
    from django.contrib.auth import get_user_model

    return {u.username: u for u in get_user_model().objects.filter(username__endswith="_reviewer1")}


def _evidence(names) -> list[services.EvidenceFile]:
    return [services.EvidenceFile(name, f"{name}.pdf", EVIDENCE_PDF) for name in names]


def load(actor=None) -> Summary:
    from yiwang.identity.models import Department

    created = Summary()
    if not Department.objects.filter(code="SFS").exists():
        return created  # the demo city is not loaded
    office = _accounts()["dcs_office"]
    reviewers = _people()
    today = timezone.localdate()

    def day(n: int) -> datetime.date:
        return today + datetime.timedelta(days=n)

    for light, title, kind, ref, lead, co, deadline, milestones, happens in TASKS:
        if KeyTask.objects.filter(title=title).exists():
            continue
        task = services.key_task_create(
            actor=office,
            title=title,
            source_kind=kind,
            source_ref=ref,
            source_text=f"{title}:请牵头部门按节点推进,每月报送进展。",
            lead_department=f"SFS-{lead}",
            co_departments=[f"SFS-{c}" for c in co],
            deadline=day(deadline),
            milestones=[services.MilestoneSpec(t, day(d), e) for t, d, e in milestones],
        )
        reporter = reviewers.get(f"{lead.lower()}_reviewer1")
        steps = list(task.milestones.all())
        if reporter is not None and happens in ("report", "return") and steps:
            first = steps[0]
            report = services.report_submit(
                actor=reporter,
                task=task,
                milestone_id=first.pk,
                summary=f"「{first.title}」已完成,佐证材料随附。",
                files=_evidence(first.evidence),
            )
            if happens == "return":
                services.report_review(
                    actor=office, report=report, accept=False, note="佐证材料不完整,请补充各包保单位签字页后重新报送。"
                )
        if reporter is not None and happens == "done":
            for step in steps:
                report = services.report_submit(
                    actor=reporter,
                    task=task,
                    milestone_id=step.pk,
                    summary=f"「{step.title}」已完成。",
                    files=_evidence(step.evidence),
                )
                services.report_review(actor=office, report=report, accept=True, score=90)
            services.key_task_rate(actor=office, task=task, score=92, note="按期高质量完成")
        if happens == "urge":
            services.key_task_urge(actor=office, task=task, note="节点已超期,请于三个工作日内报送整改进展。")
        if reporter is not None and happens == "":
            services.report_submit(actor=reporter, task=task, summary="已成立工作专班,正在按计划推进。")
        created.append(light)
    return created
