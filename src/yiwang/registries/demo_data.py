"""The registries of the demo city 示范市 (loaded by ``yiwang demo`` after the city), and a fast
seeder of a million persons for the exchange benchmark.

``load`` writes, through ``services.records_upsert`` (as the platform, ``only_missing``: never
overwriting what someone changed while exploring), a deterministic city generated from a fixed
seed: 10,000 residents plus every demo account holding a 身份证号, about 2,000 legal persons plus
the demo enterprises and every government body, standard addresses and grid cells in every
village and community, two years of economic indicators for the enterprises and a few credit
records (blacklist and redlist entries among them). Each field's source department is set
(一数一源) first. A handful of records carry deliberate defects (a missing address, an address in
another county) so that the quality report has something to show. A second run writes nothing.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from yiwang.core.codes import make_id_number, make_uscc
from yiwang.registries import schema

SEED = 2026
RESIDENTS = 10_000
ENTITIES = 2_000
ADDRESSES_PER_VILLAGE = 60
GRIDS_PER_VILLAGE = 3
YEARS = (2024, 2025)
UPSERT_CHUNK = 5_000

# 一数一源 in the demo city: department code of each registry's source, and the exceptions by field.
SOURCES = {
    "population": "SFS-GAJ",  # 公安局: 户籍
    "legal_entity": "SFS-SCJG",  # 市场监管局: 登记
    "credit": "SFS-SJJ",  # 大数据局 runs the public credit information platform
    "spatial": "SFS-ZRZY",  # 自然资源和规划局: 标准地址与网格
    "economy": "SFS-SWJ",  # 税务局: the key, tax paid and R&D spend (加计扣除)
}
FIELD_SOURCES = {
    ("population", "marital_status"): "SFS-MZJ",
    ("economy", "output_value"): "SFS-FGW",
    ("economy", "energy_use"): "SFS-FGW",
    ("economy", "land_area_mu"): "SFS-ZRZY",
    ("economy", "employees"): "SFS-RSJ",
}

# GB/T 4754-2017 classes (小类) common in a small city: (code, business words, enterprise form).
INDUSTRIES = (
    ("H6210", "餐饮管理", "有限公司"),
    ("F5211", "商贸", "有限公司"),
    ("E4710", "建筑工程", "有限公司"),
    ("G5430", "物流", "有限公司"),
    ("I6510", "信息科技", "有限公司"),
    ("A0141", "农业开发", "有限公司"),
    ("C1391", "食品", "有限责任公司"),
    ("F5251", "医药连锁", "有限公司"),
    ("O8010", "家政服务", "有限公司"),
    ("R8710", "文化传媒", "有限公司"),
    ("C3419", "机械制造", "有限公司"),
    ("N7850", "旅游开发", "有限公司"),
)
TRADE_CHARS = "瑞丰鑫源华通恒泰嘉禾同福安康宏远金穗明德和顺润泽长青永兴汇众天禾佳美诚信百川欣悦盛达兴隆宝鼎富民"
ROADS = ("人民路", "建设路", "解放路", "滨河路", "文化街", "新华街", "中山路", "胜利路", "育才路", "工业路")
ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Rough centres of the city's three districts (the real 宝鸡 block lends the codes, not the places).
CENTRES = {"610302": (107.14, 34.36), "610323": (107.53, 34.52), "610324": (107.39, 34.42)}


def _org_code(body8: str) -> str:
    from yiwang.demo.city import _org_code as org_code

    return org_code(body8)


def _villages():
    """(12-digit region code, county code, full place name) of every village and community, in code order."""
    from yiwang.identity.models import Department

    rows = []
    villages = Department.objects.filter(code__startswith="SFS-", level=Department.Level.VILLAGE).select_related(
        "parent__parent"
    )
    for village in villages.order_by("code"):
        township, county = village.parent, village.parent.parent
        county_name = county.name.removesuffix("人民政府")
        place = f"示范市{county_name.removeprefix('示范市')}{township.short_name}{village.short_name}"
        rows.append((village.region_code, village.region_code[:6], place))
    return rows


def _sources(actor) -> int:
    from yiwang.identity.models import Department
    from yiwang.registries.models import RegistryField
    from yiwang.registries.services import registry_field_source_set, registry_fields_ensure

    registry_fields_ensure()
    departments = {d.code: d for d in Department.objects.filter(code__in=[*SOURCES.values(), *FIELD_SOURCES.values()])}
    current = {(r.registry, r.field): r.source_department_id for r in RegistryField.objects.all()}
    changed = 0
    for registry, code in SOURCES.items():
        for field in schema.REGISTRIES[registry].fields:
            department = departments.get(FIELD_SOURCES.get((registry, field.name), code))
            # Set only what is unset: never overwrite an operator's choice.
            if department is not None and current.get((registry, field.name)) is None:
                registry_field_source_set(actor=actor, registry=registry, field=field.name, department=department)
                changed += 1
    return changed


class _Draw:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.ids: set[str] = set()
        self.usccs: set[str] = set()

    def id_number(self, gender: str, born_from: int, born_to: int) -> tuple[str, datetime.date, str]:
        while True:
            start = datetime.date(born_from, 1, 1)
            birth = start + datetime.timedelta(days=self.rng.randrange((datetime.date(born_to, 12, 31) - start).days))
            county = self.rng.choice(("610323", "610324") + (("610302", "610302") if birth.year >= 1983 else ()))
            number = make_id_number(county, birth, self.rng.randrange(500) * 2 + (1 if gender == "male" else 0))
            if number not in self.ids:
                self.ids.add(number)
                return number, birth, county

    def uscc(self, prefix: str, region6: str) -> str:
        while True:
            body = "MA" + "".join(self.rng.choice(ORG_ALPHABET) for _ in range(6))
            code = make_uscc(prefix + region6 + _org_code(body))
            if code not in self.usccs:
                self.usccs.add(code)
                return code


def generate(villages, accounts, enterprises, bodies, *, seed: int = SEED) -> dict[str, list[dict]]:
    """The demo registries as upsert rows, per registry; pure and deterministic.

    ``villages``: (region code, county code, place name); ``accounts``: (身份证号, name, phone) of
    the demo accounts; ``enterprises``: (USCC, name, legal representative, 身份证号) of the demo
    enterprises; ``bodies``: (USCC, name, region code) of the government bodies.
    """
    from yiwang.demo import names

    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    draw = _Draw(rng)
    draw.ids.update(a[0] for a in accounts)
    draw.usccs.update(e[0] for e in enterprises)
    draw.usccs.update(b[0] for b in bodies)
    by_county: dict[str, list[tuple[str, str]]] = {}
    addresses, grids = [], []
    for region, county, place in villages:
        lon0, lat0 = CENTRES.get(county, (107.2, 34.4))
        for g in range(1, GRIDS_PER_VILLAGE + 1):
            grids.append({"code": f"{region}{g:03d}", "name": f"{place}第{g}网格"})
        for n in range(1, ADDRESSES_PER_VILLAGE + 1):
            code = f"{region}{n:06d}"
            text = f"{place}{rng.choice(ROADS)}{n}号"
            addresses.append(
                {
                    "code": code,
                    "text": text,
                    "region_code": region,
                    "grid_code": f"{region}{(n - 1) % GRIDS_PER_VILLAGE + 1:03d}",
                    "longitude": str(Decimal(lon0 + rng.uniform(-0.08, 0.08)).quantize(Decimal("0.000001"))),
                    "latitude": str(Decimal(lat0 + rng.uniform(-0.06, 0.06)).quantize(Decimal("0.000001"))),
                }
            )
            by_county.setdefault(county, []).append((code, text, region))

    def home(county: str) -> tuple[str, str, str]:
        return rng.choice(by_county[county])

    persons = []

    def person(number: str, name: str, birth: datetime.date, phone: str) -> dict:
        code, text, region = home(number[:6] if number[:6] in by_county else rng.choice(sorted(by_county)))
        age = 2026 - birth.year
        marital = (
            "unmarried"
            if age < 24
            else rng.choice(("married",) * 8 + ("divorced", "widowed" if age > 60 else "married"))
        )
        return {
            "id_number": number,
            "name": name,
            "sex": "male" if int(number[16]) % 2 else "female",
            "birth_date": birth.isoformat(),
            "region_code": region,
            "address": text,
            "address_code": code,
            "phone": phone,
            "marital_status": marital,
            "household_id": f"{region[:6]}{rng.randrange(10**8):08d}",
        }

    for number, name, phone in accounts:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        persons.append(person(number, name, birth, phone))
    used_names = set()
    for _ in range(RESIDENTS):
        gender = "male" if rng.random() < 0.5 else "female"
        number, birth, _county = draw.id_number(gender, 1940, 2020)
        name = names.person_name(rng, gender)
        used_names.add(name)
        phone = rng.choice(("138", "139", "150", "186", "177", "199")) + f"{rng.randrange(10**8):08d}"
        persons.append(person(number, name, birth, phone if birth.year < 2012 else ""))
    # Deliberate defects for the quality report: missing addresses; 户籍 in one county, address in another.
    for row in persons[len(accounts) :][::997]:
        row["address"] = ""
    for row in persons[len(accounts) + 1 :][::1301]:
        other = [c for c in sorted(by_county) if c != row["region_code"][:6]]
        row["address_code"] = by_county[other[0]][0][0]

    residents = persons[len(accounts) :]
    entities = []
    for uscc, name, rep, rep_id in enterprises:
        code, text, region = home(uscc[2:8] if uscc[2:8] in by_county else "610302")
        entities.append(_entity(rng, uscc, name, "enterprise", rep, rep_id, code, text, region[:6], INDUSTRIES[0][0]))
    for uscc, name, region in bodies:
        county = region[:6] if region[:6] in by_county else "610302"
        code, text, _r = home(county)
        chief = rng.choice(residents)
        entities.append(
            _entity(rng, uscc, name, "public_body", chief["name"], chief["id_number"], code, text, region[:6], "S9221")
        )
    kinds = ["enterprise"] * 70 + ["individual_business"] * 25 + ["social_organization"] * 5
    for n in range(ENTITIES):
        kind = kinds[n % len(kinds)]
        county = rng.choice(sorted(by_county))
        code, text, _r = home(county)
        industry, words, form = rng.choice(INDUSTRIES)
        trade = "".join(rng.sample(TRADE_CHARS, 2))
        prefix = {"enterprise": "91", "individual_business": "92", "social_organization": "52"}[kind]
        uscc = draw.uscc(prefix, county)
        rep = rng.choice(residents)
        if kind == "enterprise":
            name = f"示范市{trade}{words}{form}"
        elif kind == "individual_business":
            name = f"示范市{county_name(county)}{trade}{words[:2]}店"
        else:
            name = f"示范市{trade}{words[:2]}协会"
        entities.append(_entity(rng, uscc, name, kind, rep["name"], rep["id_number"], code, text, county, industry))

    indicators = []
    for entity in entities:
        if entity["kind"] != "enterprise" or entity["status"] != "active":
            continue
        size = rng.lognormvariate(0, 1.1)
        for year in YEARS:
            growth = 1 + rng.uniform(-0.1, 0.2) if year != YEARS[0] else 1
            indicators.append(
                {
                    "uscc": entity["uscc"],
                    "year": year,
                    "tax_paid": f"{size * 40 * growth:.2f}",
                    "output_value": f"{size * 900 * growth:.2f}",
                    "energy_use": f"{size * 120 * growth:.2f}",
                    "land_area_mu": f"{max(1.0, size * 15):.2f}",
                    "employees": max(3, int(size * 45 * growth)),
                    "rd_spend": f"{size * 18 * growth * rng.random():.2f}",
                }
            )

    credit = _credit(rng, entities, residents)
    return {
        "grids": grids,
        "spatial": addresses,
        "population": persons,
        "legal_entity": entities,
        "economy": indicators,
        "credit": credit,
    }


def county_name(code: str) -> str:
    return {"610302": "明湖区", "610323": "东原县", "610324": "西岭县"}.get(code, "")


def _entity(rng, uscc, name, kind, rep, rep_id, address_code, address, region, industry) -> dict:
    established = datetime.date(1995, 1, 1) + datetime.timedelta(days=rng.randrange(30 * 365))
    status = "active" if rng.random() < 0.96 or kind == "public_body" else rng.choice(("cancelled", "revoked"))
    capital = {"enterprise": 50 + rng.randrange(2000), "individual_business": 1 + rng.randrange(20)}.get(kind)
    return {
        "uscc": uscc,
        "name": name,
        "kind": kind,
        "legal_representative": rep,
        "legal_representative_id_number": rep_id,
        "registered_capital": str(capital) if capital else "",
        "industry_code": industry,
        "address": address,
        "address_code": address_code,
        "region_code": region,
        "established_on": established.isoformat(),
        "status": status,
    }


def _credit(rng, entities, residents) -> list[dict]:
    enterprises = [e for e in entities if e["kind"] in ("enterprise", "individual_business")]
    rows = []
    plan = (
        [("license", "准予行政许可:食品经营许可", "示范市市场监督管理局")] * 12
        + [("penalty", "行政处罚:未按规定公示年度报告,罚款2000元", "示范市市场监督管理局")] * 6
        + [("penalty", "行政处罚:拖欠劳动者工资,责令限期支付", "示范市人力资源和社会保障局")] * 2
        + [("blacklist", "列入严重违法失信名单:提交虚假材料取得登记", "示范市市场监督管理局")] * 3
        + [("blacklist", "列入重大税收违法失信主体名单", "国家税务总局示范市税务局")] * 1
        + [("redlist", "纳税信用A级纳税人", "国家税务总局示范市税务局")] * 5
        + [("redlist", "守合同重信用企业", "示范市市场监督管理局")] * 2
    )
    subjects = rng.sample(enterprises, len(plan))
    for n, ((kind, content, authority), subject) in enumerate(zip(plan, subjects, strict=True), start=1):
        decided = datetime.date(2023, 1, 1) + datetime.timedelta(days=rng.randrange(3 * 365))
        valid_to = decided + datetime.timedelta(days=365 * (3 if kind in ("blacklist", "redlist") else 5))
        rows.append(
            {
                "record_number": f"XY{decided:%Y}{kind[:2].upper()}{n:05d}",
                "subject_kind": "legal_entity",
                "subject_key": subject["uscc"],
                "subject_name": subject["name"],
                "kind": kind,
                "content": content,
                "authority": authority,
                "decided_on": decided.isoformat(),
                "valid_from": decided.isoformat(),
                "valid_to": "" if kind == "license" else valid_to.isoformat(),
            }
        )
    rows += _tax_grades_and_commitments(entities)
    # Two people on the list of dishonest judgment debtors (失信被执行人), a person-subject example.
    for n, person in enumerate(rng.sample(residents, 2), start=len(rows) + 1):
        rows.append(
            {
                "record_number": f"XY2025BL{n:05d}",
                "subject_kind": "person",
                "subject_key": person["id_number"],
                "subject_name": person["name"],
                "kind": "blacklist",
                "content": "列入失信被执行人名单",
                "authority": "示范市中级人民法院",
                "decided_on": "2025-03-18",
                "valid_from": "2025-03-18",
                "valid_to": "2028-03-17",
            }
        )
    return rows


def _tax_grades_and_commitments(entities) -> list[dict]:
    """纳税信用等级 of the last tax year for every enterprise (A 15 %, B 55 %, M 15 %, C 10 %,
    D 5 %), and 信用承诺 of about forty (kept, a few broken, some within their period) — scored by
    supervision's credit rule. Its own generator, so the rows before it do not change."""
    rng = random.Random(20251231)  # noqa: S311 - synthetic demo data, reproducible
    rows = []
    enterprises = [e for e in entities if e["kind"] == "enterprise"]
    grades = "A" * 15 + "B" * 55 + "M" * 15 + "C" * 10 + "D" * 5
    for n, entity in enumerate(enterprises, start=1):
        rows.append(
            {
                "record_number": f"NSXY2025{n:06d}",
                "subject_kind": "legal_entity",
                "subject_key": entity["uscc"],
                "subject_name": entity["name"],
                "kind": "tax_grade",
                "outcome": rng.choice(grades),
                "content": "2025年度纳税信用等级评价",
                "authority": "国家税务总局示范市税务局",
                "decided_on": "2026-04-20",
                "valid_from": "2026-04-20",
                "valid_to": "2027-04-19",
            }
        )
    outcomes = ["kept"] * 30 + ["broken"] * 5 + ["pending"] * 5
    for n, (entity, outcome) in enumerate(zip(rng.sample(enterprises, len(outcomes)), outcomes, strict=True), 1):
        decided = datetime.date(2025, 6, 1) + datetime.timedelta(days=rng.randrange(400))
        rows.append(
            {
                "record_number": f"XYCN{decided:%Y}{n:05d}",
                "subject_kind": "legal_entity",
                "subject_key": entity["uscc"],
                "subject_name": entity["name"],
                "kind": "commitment",
                "outcome": outcome,
                "content": "告知承诺制审批:承诺在规定期限内补齐经营场所消防验收材料",
                "authority": "示范市行政审批服务局",
                "decided_on": decided.isoformat(),
                "valid_from": decided.isoformat(),
                "valid_to": (decided + datetime.timedelta(days=730)).isoformat(),
            }
        )
    return rows


class Summary(dict):
    def summary(self) -> str:
        parts = [f"{label} 新增 {n}" for label, n in self.items()]
        return ";".join(parts) + "(已有的不变)"


def load(actor=None) -> Summary:
    """Bring the demo registries up to date: create what is missing, never overwrite. Idempotent."""
    from yiwang.identity.models import Department, User
    from yiwang.registries import services

    actor = actor or "system:demo"
    summary = Summary()
    summary["数源部门"] = _sources(actor)
    villages = _villages()
    if not villages:  # city-less database: nothing to anchor addresses on
        return summary
    accounts = [
        (u.id_number, u.real_name, u.phone)
        for u in User.objects.filter(username__regex=r"^(citizen|ent)\d+$").order_by("username")
        if u.id_number
    ]
    enterprises = [
        (u.enterprise_uscc, u.enterprise_name, u.real_name, u.id_number)
        for u in User.objects.exclude(enterprise_uscc="").order_by("username")
    ]
    bodies = [
        (d.uscc, d.name, d.region_code)
        for d in Department.objects.filter(code__startswith="SFS").exclude(uscc="").order_by("code")
    ]
    data = generate(villages, accounts, enterprises, bodies)
    summary["网格"] = services.grid_cells_upsert(actor=actor, cells=data.pop("grids"))
    for registry, rows in data.items():
        created = 0
        for first in range(0, len(rows), UPSERT_CHUNK):
            result = services.records_upsert(
                actor=actor,
                registry=registry,
                rows=rows[first : first + UPSERT_CHUNK],
                channel="demo",
                only_missing=True,
            )
            created += result.created
        summary[str(schema.REGISTRIES[registry].label)] = created
    return summary


# =============================================================================================
# A million persons, fast (benchmarks)
# =============================================================================================


def bench_id_number(i: int) -> str:
    """The i-th benchmark 身份证号: distinct for every i below 90 million, valid check digit."""
    county = ("610302", "610323", "610324")[i % 3]
    n = i // 3
    birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=(n // 1000) % 30_000)
    return make_id_number(county, birth, n % 1000)


def seed_persons(n: int, *, start: int = 0, chunk: int = 20_000) -> int:
    """Write persons ``start`` … ``start + n - 1`` (``bench_id_number(i)``) straight into the
    table, bypassing the services (no history, audit or events): for benchmarks only.

    Values are what the services would store: the 身份证号 and phone encrypted (SM4-GCM; the
    phones from a pool of 1,000 ciphertexts), the blind index computed. PostgreSQL gets the
    rows by COPY, SQLite by ``executemany``. Returns the number written.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from yiwang.core.crypto import blind_index, encrypt_text
    from yiwang.registries.models import Person

    qn = connection.ops.quote_name
    now = timezone.now()
    phones = [encrypt_text(f"139{k:08d}") for k in range(1000)]
    columns = [
        "id_number",
        "id_number_index",
        "name",
        "sex",
        "birth_date",
        "region_code",
        "address",
        "address_code",
        "phone",
        "marital_status",
        "household_id",
        "created_at",
        "updated_at",
    ]
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"

    def row(i: int) -> list:
        number = bench_id_number(i)
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        stamp = now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
        return [
            encrypt_text(number),
            blind_index(number),
            surnames[i % 20] + given[(i // 20) % 20] + given[(i // 400) % 20],
            "male" if int(number[16]) % 2 else "female",
            birth if connection.vendor == "postgresql" else birth.isoformat(),
            number[:6],
            "",
            "",
            phones[i % 1000],
            "",
            "",
            stamp,
            stamp,
        ]

    table = qn(Person._meta.db_table)
    names = ", ".join(qn(c) for c in columns)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for i in range(start, start + n):
                    copy.write_row(row(i))
        else:
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
            for first in range(start, start + n, chunk):
                cursor.executemany(sql, [row(i) for i in range(first, min(first + chunk, start + n))])
    return n
