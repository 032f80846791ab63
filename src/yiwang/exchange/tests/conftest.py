"""A small exchange world: a city, the 公安局 as source of the population registry, the 人社局
as consumer, their staff, a citizen who is in the registry, and the catalog synced."""

import datetime
from dataclasses import dataclass

import pytest

from yiwang.core.codes import make_id_number, make_uscc
from yiwang.core.crypto import blind_index
from yiwang.exchange import gateway, services
from yiwang.exchange.models import DataResource, ShareType
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import department_create, role_grant_create, user_create
from yiwang.registries.models import LegalEntity, Person, RegistryField

PASSWORD = "Exchange-Mima-2024x"
CITIZEN_ID = make_id_number("320505", datetime.date(1986, 3, 14), 21)
OTHER_ID = make_id_number("320505", datetime.date(1990, 7, 1), 33)
USCC = make_uscc("91320505MA0000012")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fresh_cache():
    gateway.invalidate()
    yield
    gateway.invalidate()


@dataclass
class World:
    root: User
    city: Department
    police: Department
    hrss: Department
    police_head: User
    police_reviewer: User
    hrss_head: User
    citizen: User
    agent: User


def person(id_number: str, **values) -> Person:
    defaults = {
        "name": "张小三",
        "sex": "male",
        "birth_date": datetime.date(1986, 3, 14),
        "region_code": "320505",
        "address": "示范市高新区枫桥路18号",
        "phone": "13812345678",
        "marital_status": "married",
    }
    defaults.update(values)
    return Person.objects.create(id_number=id_number, id_number_index=blind_index(id_number), **defaults)


def build_world() -> World:
    root = user_create(actor=None, username="ex_root", password=PASSWORD, kind="staff")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])

    def dept(name, code, parent=None):
        level = Department.Level.CITY
        kind = Department.Kind.GOVERNMENT if parent is None else Department.Kind.AGENCY
        return department_create(
            actor=root, name=name, code=code, level=level, kind=kind, region_code="320500", parent=parent
        )

    city = dept("示范市人民政府", "EX")
    police = dept("示范市公安局", "EX-GAJ", city)
    hrss = dept("示范市人力资源和社会保障局", "EX-RSJ", city)

    def staff(username, role, department):
        user = user_create(actor=root, username=username, password=PASSWORD, kind="staff", real_name=username)
        role_grant_create(actor=root, user=user, role=role, department=department)
        return user

    police_head = staff("ex_gaj_head", Role.DEPARTMENT_HEAD, police)
    police_reviewer = staff("ex_gaj_reviewer", Role.REVIEWER, police)
    hrss_head = staff("ex_rsj_head", Role.DEPARTMENT_HEAD, hrss)
    citizen = user_create(
        actor=root, username="ex_citizen", password=PASSWORD, kind="citizen", real_name="张小三", id_number=CITIZEN_ID
    )
    agent = user_create(
        actor=root,
        username="ex_agent",
        password=PASSWORD,
        kind="enterprise_agent",
        real_name="李经办",
        enterprise_uscc=USCC,
        enterprise_name="示范市明德餐饮管理有限公司",
    )
    RegistryField.objects.filter(registry__in=["population", "legal_entity"]).update(source_department=police)
    person(CITIZEN_ID)
    person(OTHER_ID, name="李四", phone="13900001111")
    LegalEntity.objects.create(
        uscc=USCC, name="示范市明德餐饮管理有限公司", kind="enterprise", legal_representative="王五"
    )
    services.catalog_sync(actor=root)
    household = DataResource.objects.get(registry="population", field="household_id")
    services.data_resource_update(
        actor=root,
        resource=household,
        share_type=ShareType.NOT_SHARED,
        open_type=household.open_type,
        mask_kind=household.mask_kind,
        not_shared_reason="《户口登记条例》户籍档案不予共享",
    )
    return World(root, city, police, hrss, police_head, police_reviewer, hrss_head, citizen, agent)


def hrss_asks(world: World, fields: list[str], **extra) -> list:
    """The 人社局's head asks for population fields (purpose 核验, for a hundred days)."""
    values = {
        "purpose": "核验",
        "legal_basis": "职能",
        "valid_until": datetime.date.today() + datetime.timedelta(days=100),
    }
    values.update(extra)
    return services.share_request_create(
        actor=world.hrss_head, consumer_department=world.hrss, registry="population", fields=fields, **values
    )


@pytest.fixture
def world(db):
    return build_world()
