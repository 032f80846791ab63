"""The courier simulator as its own process (``yiwang courier_simulator``) against a live server:
the platform orders a waybill over HTTP, the simulator walks it through 揽收 → 已签收 posting
signed callbacks — each twice (``--duplicate``) — and the case ends delivered by post."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yiwang.cases.models import CaseState
from yiwang.channels import services
from yiwang.channels.models import PostalState, TrackingEvent
from yiwang.channels.tests.conftest import SECRET, approved_case, free_port
from yiwang.core.models import AuditEvent

BIN = Path(sys.executable).parent


def wait_for_port(port: int, proc: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the simulator exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("the simulator did not start")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_simulator_process_delivers_a_case_by_post(live_server, world, settings):
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "yiwang"),
            "courier_simulator",
            "--port",
            str(port),
            "--callback-url",
            f"{live_server.url}/api/v1/channels/couriers/simulator/callback",
            "--secret",
            SECRET,
            "--step",
            "0.3",
            "--duplicate",
        ],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "yiwang.settings"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, proc)
        settings.YIWANG_COURIERS = {
            "simulator": {
                "adapter": "yiwang.channels.couriers.SimulatorCourier",
                "url": f"http://127.0.0.1:{port}",
                "secret": SECRET,
            }
        }
        case = approved_case(world)
        delivery = services.postal_request(
            actor=world.base.applicant,
            case_id=case.pk,
            recipient_phone="13812345678",
            address="江苏省苏州市虎丘区枫桥路18号",
            region_code="320505",
        )
        delivery = services.postal_dispatch(actor=world.base.clerk, delivery_id=delivery.pk)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            delivery.refresh_from_db()
            if delivery.state == PostalState.SIGNED:
                break
            time.sleep(0.3)
        assert delivery.state == PostalState.SIGNED
        case.refresh_from_db()
        assert case.state == CaseState.DELIVERED and case.delivery_method == "mail"
        statuses = list(TrackingEvent.objects.filter(delivery=delivery).values_list("status", flat=True))
        assert statuses == ["picked_up", "in_transit", "out_for_delivery", "signed"]  # each sent twice, kept once
        assert AuditEvent.objects.filter(action="channels.tracking").count() == 4
        # The courier's tracking query, over HTTP, agrees and brings nothing new.
        assert services.tracking_refresh(actor=world.base.clerk, delivery_id=delivery.pk) == 0
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)
