"""Open data in the demo city 示范市 (loaded by ``yiwang demo`` after the registries and the exchange).

* from the exchange's resource catalog (aggregated counts, small groups merged): 户籍人口按区县和性别
  (有条件开放, as 户籍地行政区划 is in the catalog) and 市场主体按主体类型和登记状态 (性别, 主体类型
  and 登记状态 are set 无条件开放 in the catalog first);
* uploaded by the 大数据局 and the 交通运输局: 公交线路, 政务服务网点, 空气质量月报 (CSV and JSON);
* citizen01 has applied for the conditional dataset (pending on the 大数据局's workbench) and rated
  公交线路 (a comment waiting for moderation).

Idempotent: a dataset whose name exists is left alone. Writes through the services only.
"""

from __future__ import annotations

import json

from yiwang.identity.models import Department, User
from yiwang.opendata import services
from yiwang.opendata.models import AccessApplication, Comment, Dataset, OpenType


class Summary(dict):
    def summary(self) -> str:
        return ";".join(f"{k} {v}" for k, v in self.items()) + "(CKAN 接口 /api/3/action/,DCAT /opendata/catalog.ttl)"


def _csv(header: list[str], rows: list[list]) -> bytes:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


BUS = _csv(
    ["线路", "起点站", "终点站", "站点数", "首班时间", "末班时间", "票价(元)"],
    [[f"{n}路", f"火车站{n % 3 + 1}号口", f"高新区{n}号路口", 12 + n % 17, "06:00", "22:30", 2] for n in range(1, 61)],
)
HALLS = json.dumps(
    [
        {"名称": f"示范市政务服务中心{n}号分中心", "区县": ("姑苏区", "吴中区", "高新区")[n % 3], "窗口数": 10 + n}
        for n in range(1, 13)
    ],
    ensure_ascii=False,
).encode("utf-8")
AIR = _csv(
    ["月份", "AQI均值", "优良天数", "PM2.5(微克/立方米)"],
    [[f"2026-{m:02d}", 60 + (m * 7) % 30, 20 + m % 9, 25 + (m * 5) % 20] for m in range(1, 12)],
)


def _dept(suffix: str) -> Department | None:
    return Department.objects.filter(code=f"SFS-{suffix}", is_active=True).first()


def _user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def _open_in_catalog(root, registry: str, fields: list[str]) -> None:
    from yiwang.exchange.selectors import catalog_list
    from yiwang.exchange.services import data_resource_update

    for row in catalog_list(registry=registry).filter(field__in=fields, personal=False):
        if row.open_type != OpenType.OPEN:
            data_resource_update(
                actor=root, resource=row, share_type=row.share_type, open_type=OpenType.OPEN, mask_kind=row.mask_kind
            )


def load(actor=None) -> Summary:
    summary = Summary()
    root = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    bigdata, transport = _dept("SJJ"), _dept("JTJ")
    if root is None or bigdata is None:
        summary["开放数据集"] = 0
        return summary
    publisher = _user("sjj_head") or root
    created = 0

    def meta(name, title, description, theme, keywords, frequency, **extra):
        return {
            "name": name,
            "title": title,
            "description": description,
            "theme": theme,
            "keywords": keywords,
            "frequency": frequency,
            "spatial": "示范市",
            "licence": "cc-by-4.0",
            "contact_name": "大数据局数据开放科",
            "contact_email": "opendata@sfs.example.gov.cn",
            **extra,
        }

    if not Dataset.objects.filter(name="population-by-region-sex").exists():
        services.dataset_publish_from_catalog(
            actor=publisher,
            publisher=bigdata,
            registry="population",
            group_by=["region_code", "sex"],
            metadata=meta(
                "population-by-region-sex",
                "户籍人口按区县和性别统计",
                "人口库汇聚统计:各区县户籍人口按性别的人数;不足 5 人的组合并为“其他”。不含任何个人信息。",
                "society",
                ["人口", "户籍", "统计"],
                "monthly",
            ),
        )
        created += 1
    if not Dataset.objects.filter(name="market-entities-by-kind").exists():
        _open_in_catalog(root, "legal_entity", ["kind", "status"])
        services.dataset_publish_from_catalog(
            actor=publisher,
            publisher=bigdata,
            registry="legal_entity",
            group_by=["kind", "status"],
            metadata=meta(
                "market-entities-by-kind",
                "市场主体按主体类型和登记状态统计",
                "法人库汇聚统计:各类市场主体的数量。",
                "market",
                ["市场主体", "企业", "统计"],
                "monthly",
            ),
        )
        created += 1
    uploads = [
        (
            transport or bigdata,
            meta(
                "bus-lines",
                "示范市公交线路",
                "公交线路、起终点、站点数、首末班时间和票价。",
                "transport",
                ["公交", "交通", "线路"],
                "monthly",
                contact_name="交通运输局",
            ),
            [("公交线路.csv", "CSV", BUS)],
        ),
        (
            bigdata,
            meta(
                "service-halls",
                "政务服务网点",
                "各政务服务分中心及窗口数。",
                "society",
                ["政务服务", "网点"],
                "irregular",
            ),
            [("政务服务网点.json", "JSON", HALLS)],
        ),
        (
            bigdata,
            meta(
                "air-quality-monthly",
                "空气质量月报",
                "全市空气质量指数月均值、优良天数和 PM2.5 浓度。",
                "environment",
                ["空气质量", "环境", "PM2.5"],
                "monthly",
                temporal_start="2026-01-01",
                temporal_end="2026-11-30",
            ),
            [("空气质量.csv", "CSV", AIR)],
        ),
    ]
    for department, metadata, files in uploads:
        if Dataset.objects.filter(name=metadata["name"]).exists():
            continue
        services.dataset_publish_upload(
            actor=root if department != bigdata else publisher,
            publisher=department,
            metadata=metadata,
            open_type=OpenType.OPEN,
            files=files,
        )
        created += 1
    summary["新建开放数据集"] = created
    citizen = _user("citizen01")
    conditional = Dataset.objects.filter(name="population-by-region-sex").first()
    if (
        citizen
        and conditional
        and not AccessApplication.objects.filter(applicant=citizen, dataset=conditional).exists()
    ):
        services.application_submit(actor=citizen, dataset=conditional, purpose="社区养老服务规划,了解各区县人口结构")
        summary["待审核开放申请"] = 1
    bus = Dataset.objects.filter(name="bus-lines").first()
    if citizen and bus and not Comment.objects.filter(author=citizen, dataset=bus).exists():
        services.comment_post(actor=citizen, dataset=bus, rating=5, text="线路信息很全,希望增加实时到站数据")
    return summary
