"""Test data for appointments, built through the real services: the identity test tree, the
city hall (苏州市人民政府) with one item's weekly template, a window clerk, a city admin and
two citizens (with phones)."""

import datetime
from dataclasses import dataclass

from yiwang.appointments import services
from yiwang.appointments.models import Hall, Slot
from yiwang.core.codes import make_id_number
from yiwang.identity.models import Role, User
from yiwang.identity.tests.tree import Tree, build_tree, make_staff

ITEM = "SZ-SJJ-0001"


@dataclass
class World:
    tree: Tree
    hall: Hall
    clerk: User
    admin: User
    citizen: User
    other: User


def make_citizen(username: str, real_name: str, sequence: int, phone: str = "") -> User:
    return make_staff(
        username,
        kind=User.Kind.CITIZEN,
        real_name=real_name,
        id_number=make_id_number("320505", datetime.date(1985, 1, 2), sequence),
        phone=phone,
    )


def build_world() -> World:
    tree = build_tree()
    admin = make_staff("hall_admin", real_name="大厅管理员")
    clerk = make_staff("hall_clerk", real_name="窗口小王")
    tree.grant(admin, Role.CITY_ADMIN, tree.city)
    tree.grant(clerk, Role.WINDOW_CLERK, tree.city)
    hall = services.hall_save(actor=tree.root, department=tree.city, name="苏州市政务服务中心", address="苏州大道 1 号")
    for weekday in range(7):
        services.slot_template_save(
            actor=tree.root,
            hall=hall,
            item_code=ITEM,
            item_name="个体工商户设立登记",
            weekday=weekday,
            start_time=datetime.time(9, 0),
            end_time=datetime.time(10, 0),
            capacity=3,
        )
    citizen = make_citizen("zhangsan", "张三", 12, "13812345678")
    other = make_citizen("lisi", "李四", 14, "13912345678")
    return World(tree, hall, clerk, admin, citizen, other)


def future_slot(world: World, *, capacity: int = 3, days: int = 3, start: int = 9) -> Slot:
    """A slot on a working day a few days ahead (made directly: the generator is tested apart)."""
    from django.utils import timezone

    from yiwang.core.calendar import add_working_days

    date = add_working_days(timezone.localdate(), days)
    return Slot.objects.create(
        hall=world.hall,
        item_code=ITEM,
        item_name="个体工商户设立登记",
        date=date,
        start_time=datetime.time(start, 0),
        end_time=datetime.time(start + 1, 0),
        capacity=capacity,
    )
