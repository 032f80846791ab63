"""The configuration pages of the hall's administrators: the hall, its weekly slot templates
(errors next to their fields; stopping a row stops its future slots) and its kiosks (the
activation code shown once and usable; a stopped kiosk no longer opens). Clerks and citizens: 404."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from yiwang.appointments import services
from yiwang.appointments.models import KioskDevice, SlotTemplate
from yiwang.appointments.tests.factories import ITEM
from yiwang.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    from yiwang.identity import mfa

    client = Client()
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # admin roles require TOTP; as after a TOTP check
    session.save()
    return client


def test_only_the_halls_administrators_see_the_pages(world):
    setup = reverse("appointments_workbench:setup")
    hall = reverse("appointments_workbench:setup_hall", args=[world.hall.pk])
    admin = signed_in(world.admin)
    assert admin.get(setup).status_code == 200 and world.hall.name in admin.get(setup).content.decode()
    assert admin.get(hall).status_code == 200
    for user in (world.clerk, world.citizen):
        client = signed_in(user)
        assert client.get(setup).status_code == 404
        assert client.get(hall).status_code == 404
        assert client.post(hall, {"what": "kiosk", "name": "x"}).status_code == 404
    assert not KioskDevice.objects.exists()


def test_hall_and_weekly_templates(world):
    admin = signed_in(world.admin)
    url = reverse("appointments_workbench:setup_hall", args=[world.hall.pk])
    response = admin.post(url, {"what": "hall", "name": "市民中心", "address": "苏州大道 1 号", "is_active": "on"})
    assert response.status_code == 302
    world.hall.refresh_from_db()
    assert world.hall.name == "市民中心"
    bad = admin.post(
        url,
        {
            "what": "template",
            "item_code": ITEM,
            "weekday": "2",
            "start_time": "11:00",
            "end_time": "10:00",
            "capacity": "0",
        },
    )
    assert bad.status_code == 422
    page = bad.content.decode()
    assert "结束时间须晚于开始时间" in page and "可约人数至少为 1" in page
    garbled = admin.post(
        url, {"what": "template", "item_code": ITEM, "weekday": "2", "start_time": "x", "capacity": "a"}
    )
    assert garbled.status_code == 422 and "请填写开始时间" in garbled.content.decode()
    good = admin.post(
        url,
        {
            "what": "template",
            "item_code": "SZ-SJJ-0002",
            "item_name": "食品经营许可",
            "weekday": "1",
            "start_time": "14:00",
            "end_time": "15:30",
            "capacity": "6",
        },
    )
    assert good.status_code == 302
    row = SlotTemplate.objects.get(item_code="SZ-SJJ-0002")
    assert (row.weekday, row.capacity, str(row.end_time)) == (1, 6, "15:30:00")
    assert admin.post(url, {"what": "template_off", "id": row.pk}).status_code == 302
    row.refresh_from_db()
    assert not row.is_active
    services.slots_generate(actor=None)
    assert not world.hall.slots.filter(item_code="SZ-SJJ-0002").exists()  # a stopped row makes no slots
    actions = set(AuditEvent.objects.filter(action__startswith="appointments.").values_list("action", flat=True))
    assert {"appointments.hall_update", "appointments.template_save", "appointments.template_active"} <= actions


def test_kiosk_registered_on_the_page_activates_once_and_can_be_stopped(world):
    admin = signed_in(world.admin)
    url = reverse("appointments_workbench:setup_hall", args=[world.hall.pk])
    response = admin.post(url, {"what": "kiosk", "name": "一楼 1 号机"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    code = re.search(r'font-family:monospace">([0-9A-F]+)<', response.content.decode()).group(1)
    device = KioskDevice.objects.get(name="一楼 1 号机")
    assert code not in device.code_digest
    assert code not in admin.get(url).content.decode()  # shown once
    terminal = Client()
    assert terminal.post(reverse("kiosk:activate"), {"code": code}).status_code == 302
    assert terminal.get(reverse("kiosk:home")).status_code == 200
    admin.post(url, {"what": "kiosk_off", "id": device.pk})
    device.refresh_from_db()
    assert not device.is_active
    assert terminal.get(reverse("kiosk:home"))["Location"] == reverse("kiosk:activate")
    assert AuditEvent.objects.filter(action="appointments.kiosk_active").exists()
