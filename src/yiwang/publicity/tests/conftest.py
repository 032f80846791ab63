import datetime
from dataclasses import dataclass

import pytest

from yiwang.identity.models import Role, User


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    tree: object
    admin: User  # department admin of the 市场监督管理局 (SZ-SJJ)
    other_admin: User  # department admin of 虎丘区's market bureau: not of the consultation
    citizen: User
    other_citizen: User


@pytest.fixture
def world(db):
    from yiwang.cases.tests.factories import make_citizen
    from yiwang.identity.tests.tree import build_tree, make_staff

    tree = build_tree()
    admin = make_staff("pub_admin", real_name="公开科王")
    other = make_staff("pub_other", real_name="虎丘管理员")
    tree.grant(admin, Role.DEPARTMENT_ADMIN, tree.city_market)
    tree.grant(other, Role.DEPARTMENT_ADMIN, tree.huqiu_market)
    return World(tree, admin, other, make_citizen("zhangsan", "张三", 12), make_citizen("lisi", "李四", 14))


@pytest.fixture
def today():
    from django.utils import timezone

    return timezone.localdate()


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)
