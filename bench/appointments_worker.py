"""`python -m bench.appointments_worker <task> '<json args>'`: set up and check the slot race.

``setup``: a department and its hall (through the services), one slot of ``capacity`` places
on the next working day, and ``clients`` citizens, each with a bearer token (one password
hash shared, so setting up 200 accounts takes seconds). ``check``: the slot's counter and its
bookings. Prints one JSON line.
"""

import datetime
import json
import secrets
import sys

import django

django.setup()


def setup(args: dict) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from yiwang.appointments import services
    from yiwang.appointments.models import Slot
    from yiwang.core.calendar import add_working_days
    from yiwang.core.codes import make_id_number
    from yiwang.identity.models import Department, User
    from yiwang.identity.services import api_token_create, department_create, user_create

    clients, capacity = int(args.get("clients", 200)), int(args.get("capacity", 20))
    root = user_create(
        actor="bench:setup", username="bench_hall_root", password=f"Qz7!{secrets.token_urlsafe(16)}",
        kind=User.Kind.STAFF, is_staff=True,
    )  # fmt: skip
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    department = department_create(
        actor=root, name="基准市政务服务中心", code="BENCH-HALL", level=Department.Level.CITY,
        kind=Department.Kind.AGENCY, region_code="320500",
    )  # fmt: skip
    hall = services.hall_save(actor=root, department=department, name="基准大厅")
    slot = Slot.objects.create(
        hall=hall, item_code="BENCH-0001", item_name="基准事项", date=add_working_days(timezone.localdate(), 1),
        start_time=datetime.time(9), end_time=datetime.time(10), capacity=capacity,
    )  # fmt: skip
    password_hash = make_password(f"Qz7!{secrets.token_urlsafe(16)}")
    tokens = []
    for n in range(clients):
        user = user_create(
            actor="bench:setup",
            username=f"bench_citizen{n:03d}",
            password_hash=password_hash,
            kind=User.Kind.CITIZEN,
            real_name=f"市民{n}",
            id_number=make_id_number("320505", datetime.date(1980, 1, 1) + datetime.timedelta(days=n), 10 + n % 80),
        )
        tokens.append(api_token_create(actor=user, user=user, name="bench")[1])
    return {"slot": slot.pk, "capacity": capacity, "tokens": tokens}


def check(args: dict) -> dict:
    from yiwang.appointments.models import Booking, Slot

    slot = Slot.objects.get(pk=args["slot"])
    return {"booked": slot.booked, "bookings": Booking.objects.filter(slot=slot, state="booked").count()}


if __name__ == "__main__":
    task = sys.argv[1]
    payload = json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    print(json.dumps({"setup": setup, "check": check}[task](payload)), flush=True)
