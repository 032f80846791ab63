"""Demo appointments of 示范市 (loaded by ``yiwang demo`` after the catalog).

The 市场监督管理局's registration hall takes bookings for its first two published items:
mornings 9–10 and 10–11, afternoons 14–15, four places each, Monday to Friday. Slots are
generated for the next five working days; citizen01 and citizen02 have booked the first
morning slot of the first item (citizen01 through the portal), and the hall has one kiosk
whose activation code is ``DEMO-KIOSK-0001`` (published, like the demo passwords: change it
on a real installation). Idempotent: existing rows are kept.
"""

import datetime

from yiwang.appointments import services
from yiwang.appointments.models import Booking, KioskDevice
from yiwang.appointments.selectors import slot_list
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.errors import YiwangError
from yiwang.identity.models import Department, User

KIOSK_CODE = "DEMO-KIOSK-0001"
TIMES = (
    (datetime.time(9), datetime.time(10)),
    (datetime.time(10), datetime.time(11)),
    (datetime.time(14), datetime.time(15)),
)


class Summary(dict):
    def summary(self) -> str:
        return (
            f"预约大厅 {self.get('hall', '')}:时段 {self.get('slots', 0)} 个(新建),预约 {self.get('bookings', 0)} 条;"
            f"自助终端激活码 {KIOSK_CODE}"
        )


def load(actor=None):
    created = Summary()
    department = Department.objects.filter(code="SFS-SCJG").first()
    if department is None:
        return created
    hall = services.hall_save(
        actor=actor, department=department, name="示范市市场监管局登记注册大厅", address="示范市明湖区政务大道 8 号一楼"
    )
    created["hall"] = hall.name
    items = list(catalog_selectors.item_list_published(department=department)[:2])
    for item in items:
        for weekday in range(5):
            for start, end in TIMES:
                services.slot_template_save(
                    actor=actor,
                    hall=hall,
                    item_code=item.implementation_code,
                    item_name=item.current_version.name,
                    weekday=weekday,
                    start_time=start,
                    end_time=end,
                    capacity=4,
                )
    created["slots"] = services.slots_generate(actor=actor, days=5)
    if items:
        people = User.objects.filter(username__in=["citizen01", "citizen02"]).order_by("username")
        upcoming = [
            s for s in slot_list(hall_id=hall.pk, item_code=items[0].implementation_code) if s.start_time.hour == 9
        ]
        for person in people:
            if Booking.objects.filter(citizen=person).exists() or not upcoming:
                continue
            try:
                services.booking_create(actor=person, slot_id=upcoming[-1].pk, idempotency_key="demo")
            except YiwangError:
                continue
            created["bookings"] = created.get("bookings", 0) + 1
    if not KioskDevice.objects.filter(hall=hall).exists():
        services.kiosk_device_create(actor=actor, hall=hall, name="1号自助服务终端", code=KIOSK_CODE)
    return created
