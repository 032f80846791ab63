"""``core.db``: plain-SQL insert and update write exactly what the ORM would read back."""

import datetime

import pytest
from django.db import connection

from yiwang.core import db
from yiwang.core.models import Holiday
from yiwang.identity.models import User

pytestmark = pytest.mark.django_db


def test_insert_and_update_round_trip_through_the_orm():
    holiday = db.insert(Holiday(date=datetime.date(2031, 1, 1), kind="holiday", name="元旦", source="admin"))
    assert holiday.pk is not None and not holiday._state.adding
    read = Holiday.objects.get(pk=holiday.pk)
    assert (read.date, read.kind, read.name, read.source) == (datetime.date(2031, 1, 1), "holiday", "元旦", "admin")

    holiday.name = "元旦节"
    db.update(holiday, ["name"])
    assert Holiday.objects.get(pk=holiday.pk).name == "元旦节"


def test_encrypted_fields_are_prepared_like_the_orm():
    user = User(username="dbhelper", kind="citizen", real_name="测试", id_number="110101199003074517")
    user.set_unusable_password()
    db.insert(user)
    read = User.objects.get(pk=user.pk)
    assert read.id_number == "110101199003074517"  # decrypted back: it was encrypted on the way in
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM identity_user WHERE id = %s", [user.pk])
        stored = cursor.fetchone()[0]
    assert stored and "110101199003074517" not in stored  # ciphertext at rest

    user.real_name = "测试二"
    db.update(user, ["real_name"])
    assert User.objects.get(pk=user.pk).real_name == "测试二"


def test_rows_in_reads_what_the_orm_reads_with_its_plan_reused():
    made = []
    for i, kind in enumerate(["citizen", "citizen", "staff"]):
        user = User(username=f"rowsin{i}", kind=kind, real_name=f"行{i}", id_number=f"11010119900307{4500 + i}")
        user.set_unusable_password()
        made.append(db.insert(user))
    columns = ["real_name", "id_number", "date_joined"]
    for names in (["rowsin0", "rowsin2"], ["rowsin1", "rowsin0"], ["rowsin1", "nobody"]):  # same shape, new keys
        rows = db.rows_in(User, columns=columns, where={"username": names, "kind": ["citizen", "staff"]})
        orm = User.objects.filter(username__in=names, kind__in=["citizen", "staff"])
        got = sorted((r.username, r.kind, r.real_name, r.id_number, r.date_joined) for r in rows)
        want = sorted((u.username, u.kind, u.real_name, u.id_number, u.date_joined) for u in orm)
        assert got == want and got  # decrypted, converted, the where columns included
    rows = db.rows_in(User, columns=["real_name"], where={"kind": ["staff"], "username": ["rowsin2"]})
    assert [(r.username, r.real_name) for r in rows] == [("rowsin2", "行2")]  # the lookups' order is the ORM's
