"""A small open-data world: a city, the 大数据局 publishing, the 公安局 as source of the
population registry, a head of another department, a citizen; a population of 14 persons; the
exchange's catalog synced with 性别 open and 户籍地行政区划 conditional (their catalog default)."""

import datetime
from dataclasses import dataclass

import pytest

from yiwang.core.codes import make_id_number
from yiwang.core.crypto import blind_index
from yiwang.exchange import gateway
from yiwang.exchange import services as exchange
from yiwang.exchange.models import DataResource
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import role_grant_create, user_create
from yiwang.identity.tests.factories import make_city_department, make_root
from yiwang.opendata import services
from yiwang.opendata.models import Dataset, OpenType
from yiwang.registries.models import Person, RegistryField

PASSWORD = "Kaifang-Shuju-7391q"
CSV = "区县,年份,企业数\n姑苏区,2025,120\n吴中区,2025,98\n高新区,2025,143\n".encode()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    gateway.invalidate()
    yield
    gateway.invalidate()


@dataclass
class World:
    root: User
    city: Department
    bigdata: Department
    police: Department
    publisher: User
    outsider: User
    citizen: User
    open_dataset: Dataset
    conditional_dataset: Dataset


def metadata(**extra) -> dict:
    values = {
        "title": "示范市各区企业数量",
        "description": "按区县统计的在册企业数量",
        "theme": "economy",
        "keywords": ["企业", "统计"],
        "frequency": "annual",
        "temporal_start": "2025-01-01",
        "temporal_end": "2025-12-31",
        "spatial": "示范市",
        "licence": "cc-by-4.0",
        "contact_name": "数据开放科",
        "contact_email": "opendata@example.gov.cn",
    }
    values.update(extra)
    return values


def build_world() -> World:
    root = make_root("od_root", PASSWORD)

    def dept(name, code, parent=None):
        return make_city_department(root, name, code, parent)

    city = dept("示范市人民政府", "OD")
    bigdata = dept("示范市政务服务和大数据管理局", "OD-SJJ", city)
    police = dept("示范市公安局", "OD-GAJ", city)

    def staff(username, role, department):
        user = user_create(actor=root, username=username, password=PASSWORD, kind="staff", real_name=username)
        role_grant_create(actor=root, user=user, role=role, department=department)
        return user

    publisher = staff("od_sjj_head", Role.DEPARTMENT_HEAD, bigdata)
    outsider = staff("od_gaj_head", Role.DEPARTMENT_HEAD, police)
    citizen = user_create(
        actor=root,
        username="od_citizen",
        password=PASSWORD,
        kind="citizen",
        real_name="王小明",
        id_number=make_id_number("320505", datetime.date(1995, 2, 3), 55),
    )
    RegistryField.objects.filter(registry="population").update(source_department=police)
    for n in range(14):
        id_number = make_id_number("320505", datetime.date(1980 + n, 1, 1), 10 + n)
        Person.objects.create(
            id_number=id_number,
            id_number_index=blind_index(id_number),
            name=f"居民{n}",
            sex="male" if n % 2 else "female",
            birth_date=datetime.date(1980 + n, 1, 1),
            region_code="320505" if n < 12 else "320506",
            address="示范市某路",
        )
    exchange.catalog_sync(actor=root)
    sex = DataResource.objects.get(registry="population", field="sex")
    exchange.data_resource_update(
        actor=root, resource=sex, share_type=sex.share_type, open_type=OpenType.OPEN, mask_kind=sex.mask_kind
    )
    open_dataset = services.dataset_publish_upload(
        actor=publisher,
        publisher=bigdata,
        metadata=metadata(name="enterprises-by-district"),
        open_type=OpenType.OPEN,
        files=[("企业数量.csv", "CSV", CSV)],
    )
    conditional_dataset = services.dataset_publish_from_catalog(
        actor=publisher,
        publisher=bigdata,
        registry="population",
        group_by=["region_code", "sex"],
        metadata=metadata(
            name="population-by-region",
            title="户籍人口按区县和性别统计",
            description="户籍人口按区县和性别的人数;不足 5 人的组合并为“其他”",
            theme="society",
            keywords=["人口"],
        ),
    )
    return World(root, city, bigdata, police, publisher, outsider, citizen, open_dataset, conditional_dataset)


@pytest.fixture
def world(db):
    return build_world()
