"""Demo data of the hotline (loaded by ``yiwang demo`` after the city and the registries): the
hotline centre's accounts (agents, a dispatcher, a supervisor, grid workers), dispatch rules,
knowledge entries and about 240 tickets over the past four months in every state, with
follow-up ratings, one hotspot and one sensor alert — all written through the services, with
their dates set in the past. Idempotent: accounts and rules are created when missing; the
tickets once (recognised by their ``external_id`` ``demo-…``)."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from yiwang.hotline import services
from yiwang.hotline.models import DispatchRule, GridArea, KnowledgeEntry, Member, Patrol, Ticket

SYSTEM = "system:demo"
PASSWORD = "Demo@2026yw"  # noqa: S105 - the published demo password (yiwang.demo.city.DEMO_PASSWORD)
TICKETS = 240

ACCOUNTS = [
    ("hotline_agent", "话务员(12345 热线中心)", Member.Role.AGENT, ""),
    ("hotline_agent2", "话务员(12345 热线中心)", Member.Role.AGENT, ""),
    ("hotline_dispatcher", "派单员(12345 热线中心)", Member.Role.DISPATCHER, ""),
    ("hotline_supervisor", "督办(12345 热线中心)", Member.Role.SUPERVISOR, ""),
    ("grid_worker1", "网格员", Member.Role.GRID_WORKER, ""),
    ("grid_worker2", "网格员", Member.Role.GRID_WORKER, ""),
]
NAMES = ["周敏", "吴刚", "郑丽", "冯涛", "陈静", "褚伟"]

# category → (agency code suffix of the city, texts); noise has no rule: it goes to the territory.
CATEGORY_TEXTS = {
    "noise": ("", ["夜间施工噪音扰民", "广场舞音响声音过大", "装修噪声影响休息"]),
    "road": ("JTJ", ["路面坑洼影响通行", "井盖缺失存在安全隐患", "路灯不亮"]),
    "sanitation": ("ZJJ", ["垃圾清运不及时有异味", "小区污水外溢", "路边垃圾堆积"]),
    "water": ("ZJJ", ["小区停水没有通知", "水压低高层用不上水", "路面积水严重"]),
    "heating": ("ZJJ", ["暖气不热室温偏低", "供暖管道漏水"]),
    "traffic": ("JTJ", ["公交班次太少", "路口信号灯故障", "占道停车拥堵"]),
    "market": ("SCJG", ["商家价格欺诈", "超市销售过期食品", "预付卡商家跑路"]),
    "labour": ("RSJ", ["工地拖欠农民工工资", "单位未缴社保"]),
    "social": ("MZJ", ["低保申请咨询进度", "高龄老人补贴未到账"]),
    "education": ("JYJ", ["学位分配不合理", "校外培训机构退费难"]),
    "housing": ("ZJJ", ["电梯经常故障", "物业服务差", "顶层漏雨"]),
    "government": ("SJJ", ["办事窗口排队时间长", "网上办事系统打不开"]),
}
KNOWLEDGE = [
    (
        "SJJ",
        "如何查询办件进度",
        "登录一网通办门户,在“我的办件”中查看;也可凭办件编号在政务服务中心自助机查询。",
        "办件 进度 查询",
    ),
    (
        "ZJJ",
        "停水通知在哪里查询",
        "计划停水提前 24 小时在供水企业公众号和小区公告栏发布;突发停水可拨打供水服务热线。",
        "停水 通知 供水",
    ),
    (
        "RSJ",
        "被拖欠工资怎么办",
        "可向用工所在地人社部门劳动保障监察机构投诉,携带劳动合同、工资条等证据;也可申请劳动仲裁。",
        "拖欠 工资 欠薪 劳动",
    ),
    (
        "MZJ",
        "高龄津贴如何申领",
        "年满 80 周岁的本市户籍老人,由本人或家属向户籍所在地社区提出申请,按月发放。",
        "高龄 津贴 补贴 老人",
    ),
    ("JYJ", "义务教育入学报名时间", "每年 6 月在教育局网站公布招生方案,7 月上旬网上报名。", "入学 报名 学位"),
]
DISTRICT_BOXES = {  # longitude, latitude ranges inside the shipped GeoJSON districts
    "610302": ((107.13, 107.27), (34.33, 34.42)),
    "610323": ((107.38, 107.58), (34.32, 34.48)),
    "610324": ((106.86, 107.04), (34.33, 34.52)),
}


class Summary(dict):
    def summary(self) -> str:
        return ",".join(f"{k} {v}" for k, v in self.items())


def _accounts() -> dict:
    from yiwang.identity.services import user_create

    User = get_user_model()
    users = {}
    password_hash = make_password(PASSWORD)
    for (username, _title, _role, _grid), name in zip(ACCOUNTS, NAMES, strict=True):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                actor=SYSTEM, username=username, kind="staff", real_name=name, password_hash=password_hash
            )
        users[username] = user
    return users


def load(actor=None) -> Summary:
    from yiwang.identity.models import Department
    from yiwang.registries.selectors import grid_cells

    summary = Summary()
    if not Department.objects.filter(code="SFS").exists():
        return summary  # the demo city is not loaded
    users = _accounts()
    grids = list(grid_cells(region_prefix="6103").values_list("code", "region_code")[:50])
    for i, (username, _title, role, _grid) in enumerate(ACCOUNTS):
        grid = grids[i % len(grids)][0] if grids and role == Member.Role.GRID_WORKER else ""
        if not Member.objects.filter(user=users[username], role=role).exists():
            services.member_set(actor=SYSTEM, user=users[username], role=role, grid_code=grid)
    dispatcher = users["hotline_dispatcher"]
    agency = {d.code: d for d in Department.objects.filter(code__startswith="SFS-")}
    if not DispatchRule.objects.exists():
        for code, (suffix, _texts) in CATEGORY_TEXTS.items():
            if suffix:
                services.rule_save(
                    actor=dispatcher,
                    name=f"{code} → {agency[f'SFS-{suffix}'].short_name}",
                    department=agency[f"SFS-{suffix}"],
                    category_code=code,
                )
        services.rule_save(
            actor=dispatcher,
            name="欠薪 → 人社局",
            department=agency["SFS-RSJ"],
            keywords="欠薪 拖欠工资 讨薪",
            priority=5,
        )
    summary["规则"] = DispatchRule.objects.count()
    if not KnowledgeEntry.objects.exists():
        for suffix, title, answer, keywords in KNOWLEDGE:
            services.knowledge_save(
                actor=users["hotline_supervisor"],
                title=title,
                answer=answer,
                keywords=keywords,
                department=agency[f"SFS-{suffix}"],
            )
    summary["知识库"] = KnowledgeEntry.objects.count()
    if not Ticket.objects.filter(external_id__startswith="demo-").exists():
        _tickets(users, grids)
    summary["工单"] = Ticket.objects.count()
    if grids and not GridArea.objects.exists():
        _grid_areas(grids)
    summary["网格范围"] = GridArea.objects.count()
    if grids and not Patrol.objects.exists():
        _patrol(users)
    summary["巡查记录"] = Patrol.objects.count()
    return summary


def _grid_areas(grids) -> None:
    """The registries' grid cells as small squares inside their district on the demo map (the
    demo city has no surveyed cell boundaries), imported as GeoJSON through ``grid_import``."""
    import json

    from yiwang.hotline.views import MAP_FILE

    districts = {}
    for feature in json.loads(MAP_FILE.read_text(encoding="utf-8"))["features"]:
        ring = feature["geometry"]["coordinates"][0]
        districts[feature["properties"]["code"]] = (
            sum(p[0] for p in ring) / len(ring),
            sum(p[1] for p in ring) / len(ring),
        )
    placed: dict[str, int] = {}
    features = []
    for code, region in grids:
        center = districts.get(region[:6])
        if center is None:
            continue
        n = placed[region[:6]] = placed.get(region[:6], -1) + 1
        size = 0.018
        lon = round(center[0] - 2 * size + (n % 4) * size, 6)
        lat = round(center[1] - 1.5 * size + (n // 4 % 4) * size, 6)
        ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
        ring = [[round(x, 6), round(y, 6)] for x, y in ring]
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": f"第{n + 1}网格({code[-3:]})", "region_code": region},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    if features:
        services.grid_import(
            actor=SYSTEM, data=json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
        )


def _patrol(users) -> None:
    """Yesterday's patrol of grid_worker1: three route points and one issue reported on the way."""
    worker = users["grid_worker1"]
    start = timezone.now() - datetime.timedelta(days=1, hours=3)
    patrol = services.patrol_start(actor=worker, now=start)
    for i, (lat, lon) in enumerate(((34.361, 107.198), (34.363, 107.201), (34.366, 107.204))):
        services.patrol_point_add(
            actor=worker, patrol=patrol, latitude=lat, longitude=lon, now=start + datetime.timedelta(minutes=20 * i)
        )
    services.ticket_create(
        actor=worker,
        channel="grid",
        kind="help",
        title="人行道井盖破损",
        content="巡查发现滨河路人行道井盖破损,已设置临时警示,请市政部门更换。",
        category_code="road",
        address="滨河路人行道",
        latitude=Decimal("34.363000"),
        longitude=Decimal("107.201000"),
        patrol=patrol,
        external_id="demo-patrol-1",
        now=start + datetime.timedelta(minutes=25),
    )
    services.patrol_finish(
        actor=worker,
        patrol=patrol,
        note="巡查网格主要道路,发现井盖破损一处,已上报。",
        now=start + datetime.timedelta(hours=1),
    )


def _tickets(users, grids) -> None:
    from yiwang.identity.models import Department

    rng = random.Random(2026)  # noqa: S311 - reproducible demo data
    now = timezone.now()
    places = list(
        Department.objects.filter(code__startswith="SFS-", kind__in=("community", "subdistrict")).values_list(
            "region_code", flat=True
        )
    )
    agents = [users["hotline_agent"], users["hotline_agent2"]]
    dispatcher = users["hotline_dispatcher"]
    entries = list(KnowledgeEntry.objects.all())
    User = get_user_model()
    handlers_cache: dict[int, object] = {}

    def handler_for(department):
        if department.pk not in handlers_cache:
            from yiwang.identity.selectors import users_with_role

            people = [
                u for role in ("reviewer", "department_head") for u in users_with_role(role=role, department=department)
            ]
            handlers_cache[department.pk] = people[0] if people else None
        return handlers_cache[department.pk]

    kinds = ["complaint"] * 7 + ["help"] * 5 + ["consult"] * 3 + ["suggestion"] * 2 + ["report"] * 2 + ["praise"]
    for n in range(TICKETS):
        age_days = rng.uniform(0.1, 120)
        created = now - datetime.timedelta(days=age_days)
        category = rng.choice(list(CATEGORY_TEXTS))
        text = rng.choice(CATEGORY_TEXTS[category][1])
        region = rng.choice(places)
        (lon0, lon1), (lat0, lat1) = DISTRICT_BOXES.get(region[:6], DISTRICT_BOXES["610302"])
        kind = rng.choice(kinds)
        agent = rng.choice(agents)
        phone = f"13{rng.randrange(5, 10)}{rng.randrange(10**8):08d}"
        entry = rng.choice(entries) if kind == "consult" and entries and rng.random() < 0.6 else None
        ticket = services.ticket_create(
            actor=agent,
            channel="phone",
            kind=kind,
            title=text,
            content=f"市民来电反映:{text},请尽快处理。",
            category_code=category,
            caller_name=rng.choice(["王先生", "李女士", "张先生", "刘女士", "赵先生"]),
            caller_phone=phone,
            recording_ref=f"REC-{created:%Y%m%d}-{n:04d}",
            region_code=region,
            grid_code=rng.choice(grids)[0] if grids and rng.random() < 0.3 else "",
            address=f"{text[:2]}附近",
            latitude=Decimal(f"{rng.uniform(lat0, lat1):.6f}"),
            longitude=Decimal(f"{rng.uniform(lon0, lon1):.6f}"),
            knowledge_entry_id=entry.pk if entry else None,
            reporter_consent=rng.random() < 0.3,
            urgency="urgent" if rng.random() < 0.05 else "normal",
            external_id=f"demo-{n:04d}",
            now=created,
        )
        if ticket.status != Ticket.Status.NEW:
            continue
        _walk(rng, ticket, created, now, age_days, dispatcher, agent, handler_for)
    # citizen01 files one through the portal, sent to the 市场监管局 (the trust harness's object)
    citizen = User.objects.filter(username="citizen01").first()
    scjg = Department.objects.filter(code="SFS-SCJG").first()
    if citizen is not None and scjg is not None:
        mine = services.ticket_create(
            actor=citizen,
            channel="portal",
            kind="complaint",
            title="示范小吃店卫生差",
            content="示范小吃店后厨卫生差,希望检查。",
            category_code="market",
            caller_phone="13800138000",
            external_id="demo-portal",
        )
        services.ticket_dispatch(actor=dispatcher, ticket=mine, department=scjg)
    # one 退单 waiting for the dispatcher's decision, so that every state shows
    waiting = Ticket.objects.filter(status=Ticket.Status.DISPATCHED, external_id__startswith="demo-").first()
    if waiting is not None and handler_for(waiting.department) is not None:
        services.ticket_return(
            actor=handler_for(waiting.department), ticket=waiting, reason="该路段养护属县级交通部门负责", now=now
        )
    _hotspot(rng, users, grids, now)
    services.sensor_ingest(
        actor=dispatcher,
        device_id="WL-MHQ-001",
        metric="积水深度(cm)",
        value=35,
        threshold=15,
        place="滨河路下穿通道",
        region_code="610302",
    )
    services.ticket_sweep(now=now)
    services.hotspots_detect(now=now)


def _walk(rng, ticket, created, now, age_days, dispatcher, agent, handler_for) -> None:
    """Take a demo ticket as far as its age (and chance) allows, each step dated after the last."""
    step = [created]

    def at(hours: float):
        step[0] = min(step[0] + datetime.timedelta(hours=hours), now)
        return step[0]

    if age_days < 0.5 and rng.random() < 0.6:
        return  # still waiting for the dispatcher
    if ticket.kind == "praise":
        services.ticket_close(actor=dispatcher, ticket=ticket, note="表扬已转达相关部门", now=at(2))
        return
    department = ticket.suggested_department
    if department is None:
        return
    services.ticket_dispatch(actor=dispatcher, ticket=ticket, department=department, now=at(rng.uniform(0.2, 3)))
    handler = handler_for(department)
    if handler is None:
        return
    if rng.random() < 0.08:  # a return: refused (the department keeps it)
        services.ticket_return(actor=handler, ticket=ticket, reason="该事项不属于本部门职责范围", now=at(2))
        if age_days < 2:
            return
        services.ticket_return_decide(
            actor=dispatcher, ticket=ticket, accept=False, note="依据职责清单属本部门办理", now=at(3)
        )
    if age_days < 1.5 and rng.random() < 0.5:
        return
    services.ticket_accept(actor=handler, ticket=ticket, now=at(rng.uniform(1, 30)))
    if age_days < 4 and rng.random() < 0.6:
        if rng.random() < 0.3:
            services.ticket_supervise(actor=dispatcher, ticket=ticket, note="请加快办理", now=at(4))
        return
    services.ticket_reply(
        actor=handler, ticket=ticket, reply="经现场核查已处理,并向市民说明情况。", now=at(rng.uniform(10, 120))
    )
    if age_days < 7 and rng.random() < 0.5:
        return
    satisfaction = rng.choices([3, 2, 1], weights=[60, 25, 15])[0]
    resolved = satisfaction > 1 or rng.random() < 0.3
    services.ticket_visit(actor=agent, ticket=ticket, satisfaction=satisfaction, resolved=resolved, now=at(24))
    if not resolved and rng.random() < 0.5:
        services.ticket_reopen(actor=dispatcher, ticket=ticket, note="市民反映问题仍未解决", now=at(2))


def _hotspot(rng, users, grids, now) -> None:
    """Four calls about standing water in one place in the last day and a half: a hotspot."""
    region = "610302001001"
    for i in range(4):
        services.ticket_create(
            actor=users["hotline_agent"],
            channel="phone",
            kind="help",
            title="下穿通道积水",
            content=f"滨河路下穿通道积水严重,车辆无法通行({i + 1})",
            category_code="water",
            caller_phone=f"1590000{i:04d}",
            region_code=region,
            latitude=Decimal("34.360000"),
            longitude=Decimal("107.200000"),
            external_id=f"demo-hot-{i}",
            now=now - datetime.timedelta(hours=30 - 6 * i),
        )
