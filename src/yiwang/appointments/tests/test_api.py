"""/api/v1/appointments/: public reads, the citizen's bookings, the window's queue; errors in
the one format with Chinese messages."""

import pytest
from django.test import Client

from yiwang.appointments.models import Booking
from yiwang.appointments.tests.factories import ITEM, future_slot

pytestmark = pytest.mark.django_db

BASE = "/api/v1/appointments"


def api(user=None) -> Client:
    client = Client(enforce_csrf_checks=False)
    if user is not None:
        client.force_login(user)
    return client


def test_book_list_change_cancel(world):
    slot = future_slot(world, capacity=1)
    later = future_slot(world, days=4, start=14)
    halls = api().get(f"{BASE}/halls").json()
    assert halls[0]["name"] == "苏州市政务服务中心" and halls[0]["items"][0]["code"] == ITEM
    slots = api().get(f"{BASE}/halls/{world.hall.pk}/slots", {"item": ITEM}).json()
    assert {s["id"] for s in slots} >= {slot.pk, later.pk}
    client = api(world.citizen)
    response = client.post(f"{BASE}/bookings", {"slot_id": slot.pk}, content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="once")  # fmt: skip
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    again = client.post(f"{BASE}/bookings", {"slot_id": slot.pk}, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="once")  # fmt: skip
    assert again.json()["number"] == number and Booking.objects.count() == 1
    full = api(world.other).post(f"{BASE}/bookings", {"slot_id": slot.pk}, content_type="application/json")
    assert full.status_code == 409 and full.json()["code"] == "slot_full" and "约满" in full.json()["message"]
    assert [b["number"] for b in client.get(f"{BASE}/bookings/mine").json()] == [number]
    assert api(world.other).get(f"{BASE}/bookings/{number}").status_code == 404
    moved = client.post(f"{BASE}/bookings/{number}/change", {"slot_id": later.pk}, content_type="application/json")
    assert moved.status_code == 200 and moved.json()["slot"]["id"] == later.pk
    cancelled = client.post(f"{BASE}/bookings/{number}/cancel")
    assert cancelled.json()["state"] == "cancelled"


def test_errors_are_chinese_and_structured(world):
    client = api(world.citizen)
    missing = client.post(f"{BASE}/bookings", {"slot_id": 999999}, content_type="application/json")
    assert missing.status_code == 404 and missing.json()["code"] == "slot_not_found"
    assert api().post(f"{BASE}/bookings", {"slot_id": 1}, content_type="application/json").status_code == 401
    staff = api(world.clerk).post(
        f"{BASE}/bookings", {"slot_id": future_slot(world).pk}, content_type="application/json"
    )
    assert staff.status_code == 403 and "工作人员" in staff.json()["message"]


def test_window_operations(world):
    clerk = api(world.clerk)
    ticket = clerk.post(f"{BASE}/halls/{world.hall.pk}/walk-in", {"item_code": ITEM}, content_type="application/json")
    assert ticket.status_code == 201 and ticket.json()["code"] == "B001"
    called = clerk.post(
        f"{BASE}/halls/{world.hall.pk}/call-next", {"window_label": "1"}, content_type="application/json"
    )
    assert called.json()["code"] == "B001" and called.json()["state"] == "called"
    empty = clerk.post(
        f"{BASE}/halls/{world.hall.pk}/call-next", {"window_label": "1"}, content_type="application/json"
    )
    assert empty.status_code == 204
    assert clerk.get(f"{BASE}/halls/{world.hall.pk}/today").json()["tickets"][0]["code"] == "B001"
    outsider = api(world.citizen).get(f"{BASE}/halls/{world.hall.pk}/today")
    assert outsider.status_code == 404
