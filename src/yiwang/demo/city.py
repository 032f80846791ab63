"""The demo city 示范市, generated deterministically from a seed.

This module only *describes* the city (plain frozen dataclasses); ``yiwang.demo.services``
writes it to the database through the identity services. Same seed → identical city,
which ``City.digest()`` makes checkable.

示范市 is fictional. It borrows the GB/T 2260 code block of 宝鸡市, 陕西省 (6103xx) so
that every region code, 身份证号 and 统一社会信用代码 passes the real validators:
610300 for the city, 610302 for its district 明湖区, 610323 and 610324 for its two
counties 东原县 and 西岭县. Township and village codes are 12-digit statistical codes
under those (街道 001–099, 镇 100–199, 乡 200–399; 居委会 001–199, 村委会 200–399).
"""

from __future__ import annotations

import datetime
import random
from dataclasses import asdict, dataclass, field

from yiwang.core.audit import canonical_json
from yiwang.core.codes import make_id_number, make_uscc, validate_id_number, validate_region_code, validate_uscc
from yiwang.core.crypto import sm3_hex
from yiwang.demo import names

DEFAULT_SEED = 2026
# One memorable password for every demo account: ≥ 10 characters, 4 character classes.
DEMO_PASSWORD = "Demo@2026yw"  # noqa: S105 - published on purpose: demo only
CITY_NAME = "示范市"
# The platform's first superuser; the loader creates the department tree in its name.
SYSADMIN = "sysadmin"
CITY_REGION = "610300"

# Department.Level / Department.Kind / User.Kind / Role values, spelled out so this module
# needs no database and no app registry.
CITY, COUNTY, TOWNSHIP, VILLAGE = 2, 3, 4, 5
GOVERNMENT, AGENCY, SUBDISTRICT, COMMUNITY = "government", "agency", "subdistrict", "community"
CITIZEN, ENTERPRISE_AGENT, STAFF = "citizen", "enterprise_agent", "staff"
WINDOW_CLERK, REVIEWER, DEPARTMENT_HEAD = "window_clerk", "reviewer", "department_head"
DEPARTMENT_ADMIN, CITY_ADMIN, AUDITOR = "department_admin", "city_admin", "auditor"


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    short_name: str
    level: int
    kind: str
    region_code: str
    parent_code: str | None
    uscc: str = ""
    sort_order: int = 0


@dataclass(frozen=True)
class UserSpec:
    username: str
    kind: str
    real_name: str
    id_number: str = ""
    phone: str = ""
    enterprise_uscc: str = ""
    enterprise_name: str = ""
    is_staff: bool = False
    is_superuser: bool = False
    # For the printed table of logins (not stored).
    title: str = field(default="", compare=False)
    hint: str = field(default="", compare=False)


@dataclass(frozen=True)
class GrantSpec:
    username: str
    role: str
    department_code: str
    include_descendants: bool = False


@dataclass(frozen=True)
class City:
    seed: int
    departments: tuple[DepartmentSpec, ...]
    users: tuple[UserSpec, ...]
    grants: tuple[GrantSpec, ...]

    def as_data(self) -> dict:
        """Everything that reaches the database, as plain JSON-able data."""
        return {
            "departments": [asdict(d) for d in self.departments],
            "users": [{k: v for k, v in asdict(u).items() if k not in ("title", "hint")} for u in self.users],
            "grants": [asdict(g) for g in self.grants],
        }

    def digest(self) -> str:
        """SM3 over the canonical JSON of ``as_data()``: equal digests mean identical cities."""
        return sm3_hex(canonical_json(self.as_data()))

    def department(self, code: str) -> DepartmentSpec:
        return next(d for d in self.departments if d.code == code)

    def user(self, username: str) -> UserSpec:
        return next(u for u in self.users if u.username == username)


# --- The shape of the city (fixed; only people and village names depend on the seed) ------------

# (code suffix, name without the city/county prefix, short name, staffed with window and review roles)
CITY_AGENCIES = (
    ("SPJ", "行政审批服务局", "审批局", True),
    ("SCJG", "市场监督管理局", "市场监管局", True),
    ("GAJ", "公安局", "公安局", True),
    ("RSJ", "人力资源和社会保障局", "人社局", True),
    ("MZJ", "民政局", "民政局", True),
    ("WJW", "卫生健康委员会", "卫健委", True),
    ("ZJJ", "住房和城乡建设局", "住建局", True),
    ("ZRZY", "自然资源和规划局", "自然资源局", True),
    ("SWJ", "税务局", "税务局", True),
    ("SJJ", "政务服务和大数据管理局", "大数据局", True),
    ("JTJ", "交通运输局", "交通运输局", True),
    ("YBJ", "医疗保障局", "医保局", True),
    ("JYJ", "教育局", "教育局", True),
    ("SFJ", "司法局", "司法局", True),
    ("FGW", "发展和改革委员会", "发改委", False),
    ("CZJ", "财政局", "财政局", False),
    # The other departments of a county's 事项清单 (issue #14: the demo catalog spans ≥ 20 departments).
    ("TYJR", "退役军人事务局", "退役军人局", True),
    ("NYNC", "农业农村局", "农业农村局", True),
    ("WHLY", "文化和旅游局", "文旅局", True),
    ("SHJ", "生态环境局", "生态环境局", True),
    ("YJGL", "应急管理局", "应急管理局", True),
    ("SLJ", "水利局", "水利局", True),
    ("LYJ", "林业局", "林业局", True),
    ("TYJ", "体育局", "体育局", True),
)

# (code, name, short name, region code, agencies, townships)
# townships: (3-digit statistical code, name, short name, kind, username stem for its clerk or "")
COUNTIES = (
    (
        "MHQ",
        "示范市明湖区",
        "明湖区",
        "610302",
        (("SPJ", "行政审批服务局", "审批局"), ("SCJG", "市场监督管理局", "市场监管局"), ("MZJ", "民政局", "民政局")),
        (
            ("001", "滨河街道办事处", "滨河街道", SUBDISTRICT, "bhjd"),
            ("002", "文昌街道办事处", "文昌街道", SUBDISTRICT, ""),
            ("003", "新城街道办事处", "新城街道", SUBDISTRICT, ""),
        ),
    ),
    (
        "DYX",
        "东原县",
        "东原县",
        "610323",
        (
            ("SPJ", "行政审批服务局", "审批局"),
            ("SCJG", "市场监督管理局", "市场监管局"),
            ("GAJ", "公安局", "公安局"),
            ("RSJ", "人力资源和社会保障局", "人社局"),
            ("MZJ", "民政局", "民政局"),
            ("WJJ", "卫生健康局", "卫健局"),
        ),
        (
            ("001", "东城街道办事处", "东城街道", SUBDISTRICT, ""),
            ("100", "青石镇人民政府", "青石镇", GOVERNMENT, "qsz"),
            ("200", "柳河乡人民政府", "柳河乡", GOVERNMENT, ""),
        ),
    ),
    (
        "XLX",
        "西岭县",
        "西岭县",
        "610324",
        (
            ("SPJ", "行政审批服务局", "审批局"),
            ("SCJG", "市场监督管理局", "市场监管局"),
            ("GAJ", "公安局", "公安局"),
            ("MZJ", "民政局", "民政局"),
            ("ZJJ", "住房和城乡建设局", "住建局"),
        ),
        (
            ("100", "城关镇人民政府", "城关镇", GOVERNMENT, "cgz"),
            ("101", "龙泉镇人民政府", "龙泉镇", GOVERNMENT, ""),
            ("200", "石门乡人民政府", "石门乡", GOVERNMENT, ""),
        ),
    ),
)

CITIZEN_COUNT = 20
ENTERPRISE_COUNT = 8
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)

# GB 11714 organization code check character.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # also valid in a USCC


def _org_code(body8: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body8 + {10: "X", 11: "0"}.get(check, str(check))


def _government_uscc(code: str, region6: str) -> str:
    """机关 (登记管理部门 1, 类别 1); the organization code is derived from the stable department code."""
    digits = str(int(sm3_hex("yiwang-demo-org:" + code)[:12], 16) % 10**8).zfill(8)
    return make_uscc("11" + region6 + _org_code(digits))


def _enterprise_uscc(rng: random.Random, region6: str) -> str:
    """企业 (登记管理部门 9, 类别 1), organization code in the post-2015 ``MA`` series."""
    body = "MA" + "".join(rng.choice(_ORG_BODY_ALPHABET) for _ in range(6))
    return make_uscc("91" + region6 + _org_code(body))


class _People:
    """Draws unique names, ID numbers and phone numbers from one seeded generator."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.names: set[str] = set()
        self.id_numbers: set[str] = set()
        self.phones: set[str] = set()

    def gender(self) -> str:
        return "male" if self.rng.random() < 0.5 else "female"

    def name(self, gender: str) -> str:
        while True:
            candidate = names.person_name(self.rng, gender)
            if candidate not in self.names:
                self.names.add(candidate)
                return candidate

    def id_number(self, gender: str, *, born_from: int = 1955, born_to: int = 2004) -> str:
        while True:
            start = datetime.date(born_from, 1, 1)
            days = (datetime.date(born_to, 12, 31) - start).days
            birth = start + datetime.timedelta(days=self.rng.randrange(days))
            # 明湖区's code dates from 1983; older residents carry a county code, so the numbers
            # also pass python-stdnum's stricter year check.
            regions = ["610323", "610324"] + (["610302", "610302"] if birth.year >= 1983 else [])
            region = self.rng.choice(regions)
            sequence = self.rng.randrange(500) * 2 + (1 if gender == "male" else 0)
            number = make_id_number(region, birth, sequence)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def phone(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + "".join(str(self.rng.randrange(10)) for _ in range(8))
            if number not in self.phones:
                self.phones.add(number)
                return number


def _departments(rng: random.Random) -> list[DepartmentSpec]:
    depts = [
        DepartmentSpec(
            code="SFS",
            name="示范市人民政府",
            short_name="市政府",
            level=CITY,
            kind=GOVERNMENT,
            region_code=CITY_REGION,
            parent_code=None,
            uscc=_government_uscc("SFS", CITY_REGION),
        )
    ]
    for order, (suffix, name, short, _staffed) in enumerate(CITY_AGENCIES, start=1):
        code = f"SFS-{suffix}"
        full = "国家税务总局示范市税务局" if suffix == "SWJ" else CITY_NAME + name
        depts.append(
            DepartmentSpec(
                code, full, "市" + short, CITY, AGENCY, CITY_REGION, "SFS", _government_uscc(code, CITY_REGION), order
            )
        )
    villages = list(names.VILLAGE_STEMS)
    communities = list(names.COMMUNITY_STEMS)
    rng.shuffle(villages)
    rng.shuffle(communities)
    for c_order, (c_suffix, c_name, c_short, region, agencies, townships) in enumerate(COUNTIES, start=100):
        c_code = f"SFS-{c_suffix}"
        depts.append(
            DepartmentSpec(
                c_code,
                c_name + "人民政府",
                c_short + "政府",
                COUNTY,
                GOVERNMENT,
                region,
                "SFS",
                _government_uscc(c_code, region),
                c_order,
            )
        )
        for order, (suffix, name, short) in enumerate(agencies, start=1):
            code = f"{c_code}-{suffix}"
            full = f"国家税务总局{c_name}税务局" if suffix == "SWJ" else c_name + name
            depts.append(
                DepartmentSpec(
                    code, full, c_short + short, COUNTY, AGENCY, region, c_code, _government_uscc(code, region), order
                )
            )
        for order, (t_num, t_name, t_short, t_kind, _clerk) in enumerate(townships, start=100):
            t_code = f"{c_code}-{t_num}"
            t_region = f"{region}{t_num}000"
            depts.append(
                DepartmentSpec(
                    t_code, t_name, t_short, TOWNSHIP, t_kind, t_region, c_code, _government_uscc(t_code, region), order
                )
            )
            # 街道: three 社区; 镇: one 社区 and two 村; 乡: three 村.
            if t_kind == SUBDISTRICT:
                numbers = ["001", "002", "003"]
            elif t_name.endswith("镇人民政府"):
                numbers = ["001", "200", "201"]
            else:
                numbers = ["200", "201", "202"]
            for v_order, v_num in enumerate(numbers, start=1):
                if v_num < "200":
                    stem = communities.pop()
                    v_name, v_short = stem + "社区居民委员会", stem + "社区"
                else:
                    stem = villages.pop()
                    v_name, v_short = stem + "村民委员会", stem + "村"
                depts.append(
                    DepartmentSpec(
                        f"{t_code}-{v_num}",
                        v_name,
                        v_short,
                        VILLAGE,
                        COMMUNITY,
                        region + t_num + v_num,
                        t_code,
                        "",
                        v_order,
                    )
                )
    return depts


def _staff(people: _People, depts: list[DepartmentSpec]) -> tuple[list[UserSpec], list[GrantSpec]]:
    users: list[UserSpec] = []
    grants: list[GrantSpec] = []
    by_code = {d.code: d for d in depts}

    def add(username: str, title: str, hint: str, role: str, dept_code: str, *, below: bool = False, is_staff=False):
        users.append(
            UserSpec(
                username=username,
                kind=STAFF,
                real_name=people.name(people.gender()),
                is_staff=is_staff,
                title=title,
                hint=hint,
            )
        )
        grants.append(GrantSpec(username, role, dept_code, below))

    users.append(
        UserSpec(
            username=SYSADMIN,
            kind=STAFF,
            real_name="系统管理员",
            is_staff=True,
            is_superuser=True,
            title="系统管理员(超级用户)",
            hint="超级用户(应急账号);后台 /admin/ 请用三员账号 sfs_sysadmin 等;首次登录须绑定动态口令",
        )
    )
    add(
        "city_admin",
        "市级管理员(示范市人民政府,含下级)",
        "管理全市部门、人员和角色;首次登录须绑定动态口令",
        CITY_ADMIN,
        "SFS",
        below=True,
        is_staff=True,
    )
    add("auditor", "审计人员(全市)", "查看全市审计日志,只读", AUDITOR, "SFS", below=True)

    for suffix, _name, _short, staffed in CITY_AGENCIES:
        if not staffed:
            continue
        code = f"SFS-{suffix}"
        dept = by_code[code].short_name
        stem = suffix.lower()
        add(f"{stem}_clerk", f"窗口受理({dept})", "在工作台受理办件", WINDOW_CLERK, code)
        add(f"{stem}_reviewer1", f"审核人员({dept})", "审核本部门办件", REVIEWER, code)
        add(f"{stem}_reviewer2", f"审核人员({dept})", "审核本部门办件", REVIEWER, code)
        add(f"{stem}_head", f"部门负责人({dept})", "审批决定、查看本部门统计", DEPARTMENT_HEAD, code)
        add(
            f"{stem}_admin",
            f"部门管理员({dept})",
            "管理本部门人员和角色;首次登录须绑定动态口令",
            DEPARTMENT_ADMIN,
            code,
        )

    for c_suffix, _c_name, c_short, _region, _agencies, townships in COUNTIES:
        c_code = f"SFS-{c_suffix}"
        stem = c_suffix.lower()
        add(
            f"{stem}_admin",
            f"部门管理员({c_short},含下级)",
            "管理本县(区)部门和人员;首次登录须绑定动态口令",
            DEPARTMENT_ADMIN,
            c_code,
            below=True,
        )
        spj = by_code[f"{c_code}-SPJ"].short_name
        add(f"{stem}_spj_clerk", f"窗口受理({spj})", "在县(区)政务服务中心受理办件", WINDOW_CLERK, f"{c_code}-SPJ")
        add(f"{stem}_spj_reviewer", f"审核人员({spj})", "审核县(区)办件", REVIEWER, f"{c_code}-SPJ")
        add(f"{stem}_spj_head", f"部门负责人({spj})", "县(区)审批决定", DEPARTMENT_HEAD, f"{c_code}-SPJ")
        for t_num, _t_name, t_short, _kind, clerk in townships:
            if clerk:
                add(
                    f"{clerk}_clerk",
                    f"窗口受理({t_short}便民服务中心)",
                    "乡镇(街道)就近受理",
                    WINDOW_CLERK,
                    f"{c_code}-{t_num}",
                )
    return users, grants


def _citizens(people: _People) -> list[UserSpec]:
    users = []
    for n in range(1, CITIZEN_COUNT + 1):
        gender = people.gender()
        users.append(
            UserSpec(
                username=f"citizen{n:02d}",
                kind=CITIZEN,
                real_name=people.name(gender),
                id_number=people.id_number(gender),
                phone=people.phone(),
                title="个人用户",
                hint="在门户查看“我的”、申请办事",
            )
        )
    return users


def _enterprises(rng: random.Random, people: _People) -> list[UserSpec]:
    trade_names = list(names.TRADE_NAMES)
    industries = list(names.INDUSTRIES)
    rng.shuffle(trade_names)
    rng.shuffle(industries)
    users = []
    for n in range(1, ENTERPRISE_COUNT + 1):
        industry, form = industries[(n - 1) % len(industries)]
        gender = people.gender()
        region = rng.choice(("610302", "610302", "610323", "610324"))
        users.append(
            UserSpec(
                username=f"ent{n:02d}",
                kind=ENTERPRISE_AGENT,
                real_name=people.name(gender),
                id_number=people.id_number(gender, born_from=1965, born_to=2000),
                phone=people.phone(),
                enterprise_uscc=_enterprise_uscc(rng, region),
                enterprise_name=f"{CITY_NAME}{trade_names[n - 1]}{industry}{form}",
                title="法人用户(经办人)",
                hint="以企业身份办事",
            )
        )
    return users


def generate_city(seed: int = DEFAULT_SEED) -> City:
    """Build the whole city from ``seed``; pure and deterministic (no database, no clock)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    people = _People(rng)
    depts = _departments(rng)
    staff, grants = _staff(people, depts)
    users = staff + _citizens(people) + _enterprises(rng, people)
    city = City(seed=seed, departments=tuple(depts), users=tuple(users), grants=tuple(grants))
    _check(city)
    return city


def _check(city: City) -> None:
    """Fail loudly if a code in the generated city would not pass the platform's own validators."""
    codes = [d.code for d in city.departments]
    assert len(codes) == len(set(codes)), "duplicate department code"
    usernames = [u.username for u in city.users]
    assert len(usernames) == len(set(usernames)), "duplicate username"
    for d in city.departments:
        validate_region_code(d.region_code)
        if d.uscc:
            validate_uscc(d.uscc)
    for u in city.users:
        if u.id_number:
            validate_id_number(u.id_number)
        if u.enterprise_uscc:
            validate_uscc(u.enterprise_uscc)
