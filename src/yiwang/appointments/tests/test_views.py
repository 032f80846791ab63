"""The pages: booking on the portal, the window queue, the hall screen, and the kiosk (activation,
QR sign-in confirmed from a second session, SMS sign-in, idle timeout)."""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from yiwang.appointments import services
from yiwang.appointments.middleware import SESSION_SEEN
from yiwang.appointments.models import Booking, BookingState, KioskLogin
from yiwang.appointments.tests.factories import ITEM, future_slot
from yiwang.core.models import AuditEvent
from yiwang.messaging.models import Message

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_book_change_cancel_on_the_portal(world):
    slot = future_slot(world)
    later = future_slot(world, days=4, start=14)
    page = Client().get(reverse("appointments:index"))
    assert page.status_code == 200 and "登录后预约" in page.content.decode()
    client = signed_in(world.citizen)
    response = client.post(reverse("appointments:book"), {"slot": slot.pk, "idempotency_key": "a"})
    booking = Booking.objects.get(citizen=world.citizen)
    assert response.status_code == 302 and response["Location"] == reverse("appointments:slip", args=[booking.number])
    slip = client.get(response["Location"]).content.decode()
    assert booking.number in slip and "data-print" in slip and "appointments/print.css" in slip
    # Same item, same day: the error comes back in Chinese on the slots page.
    second = future_slot(world, start=11)
    response = client.post(reverse("appointments:book"), {"slot": second.pk}, follow=True)
    assert "您已预约同一天的同一事项" in response.content.decode()
    response = client.post(reverse("appointments:change", args=[booking.number]), {"slot": later.pk})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.slot_id == later.pk
    client.post(reverse("appointments:cancel", args=[booking.number]))
    booking.refresh_from_db()
    assert booking.state == BookingState.CANCELLED
    # Somebody else's booking is a 404.
    assert signed_in(world.other).get(reverse("appointments:slip", args=[booking.number])).status_code == 404


def _today_booking(world):
    from datetime import time as t

    from yiwang.appointments.models import Slot
    from yiwang.core.calendar import holiday_set, is_working_day

    today = timezone.localdate()
    if not is_working_day(today):
        holiday_set(actor=world.tree.root, date=today, kind="workday", name="测试")
    slot = Slot.objects.create(
        hall=world.hall, item_code=ITEM, item_name="个体工商户设立登记", date=today,
        start_time=t(23, 58), end_time=t(23, 59), capacity=3,
    )  # fmt: skip
    return services.booking_create(actor=world.citizen, slot_id=slot.pk)


def test_window_queue_and_screen(world):
    booking = _today_booking(world)
    clerk = signed_in(world.clerk)
    assert clerk.get(reverse("appointments_workbench:index")).status_code == 302
    queue_url = reverse("appointments_workbench:queue", args=[world.hall.pk])
    page = clerk.get(queue_url).content.decode()
    setup_url = reverse("appointments_workbench:setup")
    assert booking.number in page and setup_url not in page  # not theirs to open: no dead link
    assert clerk.get(setup_url).status_code == 404
    clerk.post(reverse("appointments_workbench:action", args=[world.hall.pk, "check_in"]), {"number": booking.number})
    clerk.post(reverse("appointments_workbench:action", args=[world.hall.pk, "walk_in"]), {"item_code": ITEM})
    response = clerk.post(
        reverse("appointments_workbench:action", args=[world.hall.pk, "call_next"]),
        {"window_label": "5号窗口"},
        follow=True,
    )
    assert "请 A001 号到 5号窗口" in response.content.decode()
    board = Client().get(reverse("appointments:screen_board", args=[world.hall.pk])).content.decode()
    assert "A001" in board and "5号窗口" in board and "张*" in board and "张三" not in board
    screen = Client().get(reverse("appointments:screen", args=[world.hall.pk])).content.decode()
    assert 'hx-trigger="every 3s"' in screen
    # A citizen and another hall's visitor get 404 on the queue.
    assert signed_in(world.citizen).get(queue_url).status_code == 404


def _kiosk(world) -> tuple[Client, object]:
    new = services.kiosk_device_create(actor=world.tree.root, hall=world.hall, name="1号自助机")
    kiosk = Client()
    assert kiosk.post(reverse("kiosk:activate"), {"code": "WRONG"}).status_code == 200
    response = kiosk.post(reverse("kiosk:activate"), {"code": new.code})
    assert response.status_code == 302 and "yiwang_kiosk" in response.cookies
    return kiosk, new.device


def test_kiosk_qr_login_confirmed_on_phone_then_idle_timeout(world, settings):
    kiosk, device = _kiosk(world)
    page = kiosk.get(reverse("kiosk:home")).content.decode()
    assert "<svg" in page and 'hx-trigger="every 2s"' in page and 'class="kiosk"' in page
    login = KioskLogin.objects.get(device=device)
    token = re.search(r"/kiosk/scan/([^/]+)/", page).group(1)
    assert kiosk.get(reverse("kiosk:poll")).status_code == 204  # not confirmed yet
    phone = signed_in(world.citizen)
    assert "确认登录" in phone.get(reverse("kiosk:scan", args=[token])).content.decode()
    phone.post(reverse("kiosk:scan", args=[token]))
    response = kiosk.get(reverse("kiosk:poll"))
    assert response["HX-Redirect"] == reverse("kiosk:home")
    assert "张三" in kiosk.get(reverse("kiosk:home")).content.decode()
    # The token is single-use: scanning it again is refused, and the poll signs nobody in twice.
    assert phone.post(reverse("kiosk:scan", args=[token])).status_code == 404
    login.refresh_from_db()
    assert login.state == "used"
    # Idle: the server ends the session on the next request.
    session = kiosk.session
    session[SESSION_SEEN] = int(time.time()) - settings.YIWANG_KIOSK_IDLE_SECONDS - 5
    session.save()
    response = kiosk.get(reverse("kiosk:bookings"))
    assert response.status_code == 302 and "timeout=1" in response["Location"]
    assert kiosk.get(reverse("kiosk:bookings")).status_code == 302  # signed out: to the login page
    assert AuditEvent.objects.filter(action="appointments.kiosk_timeout").exists()


@pytest.fixture
def sms_gateway(settings):
    """A real SMS gateway on loopback (the messaging tests' one)."""
    from yiwang.messaging.tests.helpers import Gateway

    with Gateway(answer={"id": "gw-kiosk-1"}) as gateway:
        settings.YIWANG_SMS_GATEWAY_URL = gateway.url
        yield gateway


def test_kiosk_sms_login_and_self_check_in(world, sms_gateway):
    from yiwang.appointments.models import KioskSmsCode

    booking = _today_booking(world)
    kiosk, _device = _kiosk(world)
    response = kiosk.post(reverse("kiosk:sms"), {"step": "id", "id_number": "123"})
    assert "18 位" in response.content.decode()
    kiosk.post(reverse("kiosk:sms"), {"step": "id", "id_number": world.citizen.id_number})
    (sent,) = sms_gateway.received
    code = re.search(r"验证码 (\d{6})", sent["json"]["content"]).group(1)
    assert sent["json"]["phone"] == world.citizen.phone
    # The code is not kept in clear anywhere: no message in the log, the row holds a digest.
    assert not Message.objects.filter(template_code="appointments.kiosk_code").exists()
    row = KioskSmsCode.objects.get()
    assert row.sent_at and row.provider_ref == "gw-kiosk-1" and "****" in row.phone_masked
    assert code not in str(list(Message.objects.values())) + str(list(KioskSmsCode.objects.values()))
    assert code not in str(list(AuditEvent.objects.values_list("changes", flat=True)))
    wrong = kiosk.post(reverse("kiosk:sms"), {"step": "code", "code": "000000" if code != "000000" else "111111"})
    assert "验证码错误" in wrong.content.decode()
    response = kiosk.post(reverse("kiosk:sms"), {"step": "code", "code": code})
    assert response.status_code == 302
    kiosk.post(reverse("kiosk:bookings"), {"number": booking.number})
    booking.refresh_from_db()
    assert booking.state == BookingState.CHECKED_IN and booking.ticket.code == "A001"
    # The code is used up.
    kiosk.post(reverse("kiosk:logout"))
    kiosk.post(reverse("kiosk:sms"), {"step": "id", "id_number": world.citizen.id_number})
    assert "验证码错误" in kiosk.post(reverse("kiosk:sms"), {"step": "code", "code": code}).content.decode()


def test_kiosk_sms_without_a_gateway_says_so_to_everyone(world):
    kiosk, _device = _kiosk(world)
    response = kiosk.post(reverse("kiosk:sms"), {"step": "id", "id_number": world.citizen.id_number})
    assert "扫码登录" in response.content.decode()


def test_kiosk_sms_rate_limited_and_unknown_number_silent(world, sms_gateway):
    kiosk, _device = _kiosk(world)
    import datetime

    from yiwang.core.codes import make_id_number

    unknown = make_id_number("320505", datetime.date(1990, 1, 1), 55)
    response = kiosk.post(reverse("kiosk:sms"), {"step": "id", "id_number": unknown})
    assert "如该身份证号已注册" in response.content.decode()  # same answer as for a known number
    for _ in range(3):
        kiosk.post(reverse("kiosk:sms"), {"step": "id", "id_number": world.citizen.id_number})
    response = kiosk.post(reverse("kiosk:sms"), {"step": "id", "id_number": world.citizen.id_number})
    assert "尝试次数过多" in response.content.decode()
    assert len(sms_gateway.received) == 3


def test_pages_without_kiosk_cookie(world):
    client = Client()
    assert client.get(reverse("kiosk:home"))["Location"] == reverse("kiosk:activate")
    assert client.get(reverse("kiosk:poll")).status_code == 404
    assert 'class="kiosk"' not in client.get(reverse("appointments:index")).content.decode()
