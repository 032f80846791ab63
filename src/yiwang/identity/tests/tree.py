"""A small real department tree for the department, selector and API tests, built by the services.

苏州市人民政府 (320500, city)
├── 苏州市市场监督管理局 (agency of the city government, city level)
├── 虎丘区人民政府 (320505, county)
│   ├── 虎丘区市场监督管理局 (agency, county level)
│   └── 枫桥街道办事处 (320505001, township)
│       └── 枫桥社区居民委员会 (320505001001, village)
└── 吴中区人民政府 (320506, county)
"""

from dataclasses import dataclass

from yiwang.identity.models import Department, User
from yiwang.identity.services import department_create, role_grant_create, user_create

PASSWORD = "Qiang-Mima-2024"
L, K = Department.Level, Department.Kind


def make_staff(username: str, **extra) -> User:
    extra.setdefault("kind", User.Kind.STAFF)
    extra.setdefault("is_staff", extra["kind"] == User.Kind.STAFF)
    return user_create(actor=None, username=username, password=PASSWORD, **extra)


def make_root() -> User:
    root = make_staff("root")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    return root


@dataclass
class Tree:
    root: User
    city: Department
    city_market: Department
    huqiu: Department
    huqiu_market: Department
    fengqiao: Department
    community: Department
    wuzhong: Department

    def grant(self, user: User, role: str, department: Department, include_descendants: bool = False):
        return role_grant_create(
            actor=self.root, user=user, role=role, department=department, include_descendants=include_descendants
        )


def build_tree(root: User | None = None) -> Tree:
    root = root or make_root()

    def dept(name, code, level, kind, region, parent=None, **extra):
        return department_create(
            actor=root, name=name, code=code, level=level, kind=kind, region_code=region, parent=parent, **extra
        )

    city = dept("苏州市人民政府", "SZ", L.CITY, K.GOVERNMENT, "320500", short_name="苏州市政府")
    city_market = dept("苏州市市场监督管理局", "SZ-SJJ", L.CITY, K.AGENCY, "320500", city, sort_order=2)
    huqiu = dept("虎丘区人民政府", "SZ-HQ", L.COUNTY, K.GOVERNMENT, "320505", city, sort_order=1)
    huqiu_market = dept("虎丘区市场监督管理局", "SZ-HQ-SJJ", L.COUNTY, K.AGENCY, "320505", huqiu)
    fengqiao = dept("枫桥街道办事处", "SZ-HQ-FQ", L.TOWNSHIP, K.SUBDISTRICT, "320505001", huqiu)
    community = dept("枫桥社区居民委员会", "SZ-HQ-FQ-01", L.VILLAGE, K.COMMUNITY, "320505001001", fengqiao)
    wuzhong = dept("吴中区人民政府", "SZ-WZ", L.COUNTY, K.GOVERNMENT, "320506", city, sort_order=3)
    return Tree(root, city, city_market, huqiu, huqiu_market, fengqiao, community, wuzhong)
