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
