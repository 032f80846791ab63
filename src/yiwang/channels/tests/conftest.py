import socket
import threading
from dataclasses import dataclass

import pytest

from yiwang.cases import services as case_services
from yiwang.cases.tests.factories import FORM, attach_required, build_world, publish_item
from yiwang.channels.simulator import Simulator, serve
from yiwang.identity.models import Role
from yiwang.identity.tests.tree import make_staff

SECRET = "test-courier-secret"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ChannelWorld:
    base: object  # the cases test world
    county_item: object  # 虎丘区市场监督管理局's item (region 320505)
    wuzhong_clerk: object  # window clerk of 吴中区 (320506): takes in 虎丘区's item for its applicant
    huqiu_reviewer: object
    huqiu_head: object


@pytest.fixture
def world(db):
    base = build_world()
    root = base.tree.root
    county_item = publish_item(
        root,
        implementation_code="SZ-HQ-SJJ-0001",
        department="SZ-HQ-SJJ",
        name="个体工商户设立登记(虎丘)",
        aliases=[],
        keywords=[],
        output={},
        promised_time_limit=5,
        process=[{"name": "受理", "role": "window_clerk"}, {"name": "审核", "role": "reviewer"}],
    )
    wuzhong_clerk = make_staff("wz_clerk", real_name="吴中窗口小陈")
    huqiu_reviewer = make_staff("hq_reviewer", real_name="虎丘审核老刘")
    huqiu_head = make_staff("hq_head", real_name="虎丘局长钱")
    base.tree.grant(wuzhong_clerk, Role.WINDOW_CLERK, base.tree.wuzhong)
    base.tree.grant(huqiu_reviewer, Role.REVIEWER, base.tree.huqiu_market)
    base.tree.grant(huqiu_head, Role.DEPARTMENT_HEAD, base.tree.huqiu_market)
    return ChannelWorld(base, county_item, wuzhong_clerk, huqiu_reviewer, huqiu_head)


def approved_case(world, *, run_events=None):
    """张三's online case of the city market item, accepted, reviewed and approved."""
    w = world.base
    case, _ = case_services.case_submit(actor=w.applicant, item=w.market_item, form_data=FORM)
    case = attach_required(case)
    case_services.case_accept(actor=w.clerk, case_id=case.pk)
    case_services.case_claim(actor=w.reviewer, case_id=case.pk)
    case_services.case_record_opinion(actor=w.reviewer, case_id=case.pk, opinion="符合条件")
    return case_services.case_decide(actor=w.head, case_id=case.pk, decision="approve")


@pytest.fixture
def simulator(settings):
    """The courier simulator's real HTTP server in a thread (manual: events only on request); the
    platform's courier settings point at it. ``sim.callback_url`` is set by the test."""
    port = free_port()
    sim = Simulator(callback_url="http://127.0.0.1:1/unused", secret=SECRET, step=0)
    server = serve(host="127.0.0.1", port=port, sim=sim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.YIWANG_COURIERS = {
        "simulator": {
            "adapter": "yiwang.channels.couriers.SimulatorCourier",
            "url": f"http://127.0.0.1:{port}",
            "secret": SECRET,
        }
    }
    sim.port = port
    yield sim
    server.shutdown()
    server.server_close()
