import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.hotline import selectors, services
from yiwang.hotline.models import Ticket, TicketEvent
from yiwang.hotline.tests.factories import build_world, phone_ticket
from yiwang.messaging.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def test_complaint_full_loop_with_one_return(world):
    """Done means: an agent takes a complaint, it is dispatched, returned once, re-dispatched,
    handled, called back and closed — every step on the timeline and in the audit chain."""
    rule = services.rule_save(
        actor=world.dispatcher, name="噪音→城管", department=world.urban, category_code="noise", keywords="施工 噪音"
    )
    ticket = phone_ticket(world)
    assert ticket.status == Ticket.Status.NEW
    assert ticket.suggested_department == world.urban
    assert ticket.number.startswith(f"{timezone.localdate():%Y%m%d}")
    assert "施工" in ticket.terms.split()

    # The dispatcher overrides the suggestion: the water bureau (wrongly).
    services.ticket_dispatch(actor=world.dispatcher, ticket=ticket, department=world.water)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.DISPATCHED and ticket.department == world.water
    assert ticket.resolve_due_at > ticket.response_due_at > ticket.dispatched_at
    assert Message.objects.filter(recipient=world.water_handler, template_code="hotline.dispatched").exists()

    # 退单 without a reason is refused; nothing changes.
    with pytest.raises(ValidationFailed) as exc:
        services.ticket_return(actor=world.water_handler, ticket=ticket, reason="  ")
    assert "reason" in exc.value.fields
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.DISPATCHED
    # Another department's staff cannot even see it.
    with pytest.raises(NotFound):
        services.ticket_return(actor=world.urban_handler, ticket=ticket, reason="不是我们的事项")

    services.ticket_return(actor=world.water_handler, ticket=ticket, reason="施工噪音属于城管执法职责")
    services.ticket_return_decide(actor=world.dispatcher, ticket=ticket, accept=True, note="同意")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW and ticket.department is None
    assert ticket.suggested_department == world.urban

    services.ticket_dispatch(actor=world.dispatcher, ticket=ticket)  # confirms the suggestion
    services.ticket_accept(actor=world.urban_handler, ticket=ticket)
    services.ticket_reply(actor=world.urban_handler, ticket=ticket, reply="已责令工地夜间停工,并巡查确认。")
    services.ticket_visit(actor=world.agent, ticket=ticket, satisfaction=3, resolved=True, note="市民表示满意")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED and ticket.close_reason == "visited"
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == [
        "created",
        "dispatched",
        "return_requested",
        "return_accepted",
        "dispatched",
        "accepted",
        "replied",
        "visited",
        "closed",
    ]
    actions = set(AuditEvent.objects.filter(object_id=str(ticket.pk)).values_list("action", flat=True))
    assert {
        "hotline.ticket_create",
        "hotline.ticket_dispatch",
        "hotline.ticket_return",
        "hotline.ticket_return_decide",
        "hotline.ticket_accept",
        "hotline.ticket_reply",
        "hotline.ticket_visit",
    } <= actions
    assert rule.pk


def test_return_refused_keeps_the_department(world):
    ticket = phone_ticket(world)
    services.ticket_dispatch(actor=world.dispatcher, ticket=ticket, department=world.urban)
    services.ticket_return(actor=world.urban_handler, ticket=ticket, reason="我们认为不归我们管")
    with pytest.raises(ValidationFailed):
        services.ticket_return_decide(actor=world.dispatcher, ticket=ticket, accept=False, note="")
    services.ticket_return_decide(actor=world.dispatcher, ticket=ticket, accept=False, note="三定方案明确属城管职责")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.DISPATCHED and ticket.department == world.urban
    with pytest.raises(Forbidden):
        services.ticket_return_decide(actor=world.urban_handler, ticket=ticket, accept=True)


def test_consult_answered_from_knowledge_is_closed_at_once(world):
    entry = services.knowledge_save(
        actor=world.water_handler,
        title="停水通知在哪里查询",
        answer="请关注水务局公众号的停水公告,或拨打 96116。",
        keywords="停水 通知",
        department=world.water,
    )
    hits = selectors.knowledge_search(query="我家停水了什么时候来水")
    assert hits and hits[0].kind == "entry" and hits[0].id == entry.pk
    ticket = phone_ticket(
        world,
        kind="consult",
        title="停水咨询",
        content="想知道停水通知在哪里看",
        category_code="water",
        knowledge_entry_id=entry.pk,
    )
    assert ticket.status == Ticket.Status.CLOSED and ticket.close_reason == "direct_answer"
    assert ticket.reply == entry.answer and ticket.replied_at is not None
    assert list(ticket.events.values_list("kind", flat=True)) == ["created", "answered"]


def test_expired_knowledge_is_not_offered(world):
    services.knowledge_save(
        actor=world.water_handler,
        title="旧的停水口径",
        answer="已过期",
        keywords="停水",
        department=world.water,
        expires_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    assert [h for h in selectors.knowledge_search(query="停水") if h.kind == "entry"] == []


def test_repeat_call_is_linked_not_rehandled(world):
    first = phone_ticket(world)
    second = phone_ticket(world, content="又来电:工地还在夜间施工")
    assert second.duplicate_of == first and second.status == Ticket.Status.CLOSED
    assert second.close_reason == "duplicate"
    assert first.events.filter(kind=TicketEvent.Kind.LINKED).exists()


def test_report_identity_hidden_from_department_unless_consent(world):
    hidden = phone_ticket(
        world,
        kind="report",
        category_code="market",
        title="举报无证经营",
        content="某小店无证经营销售过期食品",
        caller_phone="13900001111",
    )
    shown = phone_ticket(
        world,
        kind="report",
        category_code="market",
        title="举报价格欺诈",
        content="超市价格欺诈",
        caller_phone="13900002222",
        reporter_consent=True,
    )
    for t in (hidden, shown):
        services.ticket_dispatch(actor=world.dispatcher, ticket=t, department=world.urban)
    view = selectors.caller_view(
        actor=world.urban_handler, ticket=selectors.ticket_get(actor=world.urban_handler, id=hidden.pk)
    )
    assert view["hidden"] and "1390000" not in view["phone"] and "张" not in view["name"]
    assert selectors.caller_view(actor=world.urban_handler, ticket=shown)["phone"] == "139****2222"
    assert selectors.caller_view(actor=world.agent, ticket=hidden)["phone"] == "139****1111"


def test_bad_input_is_refused_clearly_and_nothing_is_written(world):
    before = Ticket.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        phone_ticket(
            world, caller_phone="12345abc", latitude="91", longitude="500", region_code="999999", category_code="nope"
        )
    assert set(exc.value.fields) >= {"caller_phone", "latitude", "longitude", "region_code", "category"}
    big = SimpleUploadedFile("a.jpg", b"\xff" * (services.MAX_PHOTO_BYTES + 1), content_type="image/jpeg")
    with pytest.raises(ValidationFailed) as exc:
        phone_ticket(world, photo=big)
    assert exc.value.code == "photo_too_large"
    with pytest.raises(ValidationFailed) as exc:
        phone_ticket(world, photo=SimpleUploadedFile("a.jpg", b"not an image", content_type="image/jpeg"))
    assert exc.value.code == "photo_invalid"
    assert Ticket.objects.count() == before
    ticket = phone_ticket(world)
    with pytest.raises(ValidationFailed) as exc:
        services.ticket_dispatch(actor=world.dispatcher, ticket=ticket, department="NO-SUCH-DEPT")
    assert exc.value.code == "department_unknown"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW


def test_grid_worker_reports_with_photo_and_location(world):
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buf, "JPEG")
    photo = SimpleUploadedFile("p.jpg", buf.getvalue(), content_type="image/jpeg")
    ticket = services.ticket_create(
        actor=world.grid_worker,
        channel="grid",
        kind="help",
        title="井盖缺失",
        content="枫桥路口井盖缺失",
        category_code="road",
        latitude="31.3",
        longitude="120.6",
        photo=photo,
        require_location=True,
    )
    assert ticket.grid_code == "320505001001G01" and ticket.photo.name
    with pytest.raises(Forbidden):
        services.ticket_create(actor=world.citizen, channel="grid", kind="help", content="x")
    with pytest.raises(ValidationFailed):
        services.ticket_create(
            actor=world.grid_worker, channel="grid", kind="help", content="无地点", require_location=True
        )


def test_territorial_suggestion_and_levels(world):
    ticket = phone_ticket(
        world, category_code="other", title="楼道堆放杂物", content="楼道杂物堆积", region_code="320505001001"
    )
    assert ticket.suggested_department == world.tree.community
    ticket = phone_ticket(
        world,
        category_code="other",
        title="街面乱象",
        content="街面乱象",
        caller_phone="13700000000",
        region_code="320506",
    )
    assert ticket.suggested_department == world.tree.wuzhong
    services.rule_save(
        actor=world.dispatcher, name="枫桥街道", department=world.tree.fengqiao, region_prefix="320505001"
    )
    ticket = phone_ticket(
        world, category_code="other", title="楼道堆放杂物", content="楼道杂物堆积", caller_phone="13600000000"
    )
    assert ticket.suggested_department == world.tree.fengqiao


def test_assist_supervise_and_reopen(world):
    ticket = phone_ticket(world)
    services.ticket_dispatch(actor=world.dispatcher, ticket=ticket, department=world.urban)
    services.ticket_assist(actor=world.dispatcher, ticket=ticket, departments=[world.tree.fengqiao.pk])
    assert selectors.ticket_get(actor=world.street_handler, id=ticket.pk) == ticket
    services.ticket_note(actor=world.street_handler, ticket=ticket, note="街道已上门劝导")
    with pytest.raises(NotFound):  # the co-handler is not the lead: it cannot reply
        services.ticket_reply(actor=world.street_handler, ticket=ticket, reply="已处理完毕")
    services.ticket_supervise(actor=world.supervisor, ticket=ticket, note="请两日内办结")
    services.ticket_reply(actor=world.urban_handler, ticket=ticket, reply="已处理完毕")
    services.ticket_visit(actor=world.agent, ticket=ticket, satisfaction=1, resolved=False)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.UNRESOLVED
    services.ticket_reopen(actor=world.dispatcher, ticket=ticket, note="市民反映仍在施工")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.DISPATCHED and ticket.reopen_count == 1 and ticket.satisfaction is None
    with pytest.raises(Conflict):
        services.ticket_visit(actor=world.agent, ticket=ticket, satisfaction=3, resolved=True)


def test_sweep_warns_then_marks_overdue_once(world):
    ticket = phone_ticket(world, urgency="urgent")
    services.ticket_dispatch(actor=world.dispatcher, ticket=ticket, department=world.urban)
    ticket.refresh_from_db()
    assert ticket.resolve_due_at - ticket.dispatched_at == datetime.timedelta(hours=24)
    assert services.ticket_sweep(now=ticket.dispatched_at + datetime.timedelta(hours=1)) == {"warning": 0, "overdue": 0}
    assert services.ticket_sweep(now=ticket.dispatched_at + datetime.timedelta(hours=3))["overdue"] == 1  # no response
    assert services.ticket_sweep(now=ticket.dispatched_at + datetime.timedelta(hours=4))["overdue"] == 0
    ticket.refresh_from_db()
    assert ticket.clock == "overdue"
    assert Message.objects.filter(template_code="hotline.overdue", recipient=world.supervisor).exists()

    other = phone_ticket(world, caller_phone="13911112222", urgency="urgent")
    services.ticket_dispatch(actor=world.dispatcher, ticket=other, department=world.urban)
    services.ticket_accept(actor=world.urban_handler, ticket=other)
    other.refresh_from_db()
    assert services.ticket_sweep(now=other.dispatched_at + datetime.timedelta(hours=20))["warning"] == 1
    other.refresh_from_db()
    assert other.clock == "warning"


def test_working_day_clock_for_ordinary_tickets(world):
    # Dispatched on Friday 2026-12-04: 1 working day to respond → Monday 12-07; 5 to resolve → Friday 12-11.
    friday = timezone.make_aware(datetime.datetime(2026, 12, 4, 10, 0))
    ticket = phone_ticket(world)
    services.ticket_dispatch(actor=world.dispatcher, ticket=ticket, department=world.urban, now=friday)
    ticket.refresh_from_db()
    assert timezone.localtime(ticket.response_due_at).date() == datetime.date(2026, 12, 7)
    assert timezone.localtime(ticket.resolve_due_at).date() == datetime.date(2026, 12, 11)


def test_hotspot_found_and_department_alerted(world):
    now = timezone.now()
    tickets = []
    for i in range(4):
        t = phone_ticket(
            world,
            caller_phone=f"1380000000{i}",
            title="积水",
            content=f"枫桥路下穿隧道积水严重{i}",
            category_code="water",
            region_code="320505001001",
        )
        services.ticket_dispatch(actor=world.dispatcher, ticket=t, department=world.water)
        tickets.append(t)
    phone_ticket(
        world, caller_phone="13800000009", title="积水", content="积水", category_code="water", region_code="320506"
    )  # another place
    result = services.hotspots_detect(now=now + datetime.timedelta(minutes=1))
    assert result["created"] == 1
    hotspot = selectors.hotspot_list(actor=world.water_handler).get()
    assert hotspot.ticket_count == 4 and "积水" in hotspot.terms and hotspot.department == world.water
    assert Message.objects.filter(template_code="hotline.hotspot", recipient=world.water_handler).exists()
    assert services.hotspots_detect(now=now + datetime.timedelta(minutes=2))["created"] == 0  # idempotent
    with pytest.raises(NotFound):
        selectors.hotspot_get(actor=world.urban_handler, id=hotspot.pk)


def test_sensor_alerts_are_deduplicated(world):
    alert, opened = services.sensor_ingest(
        actor=world.dispatcher,
        device_id="WL-001",
        metric="water_level",
        value=2.5,
        threshold=1.0,
        place="枫桥路下穿隧道",
        region_code="320505",
    )
    assert opened and alert.ticket.channel == "sensor" and alert.ticket.urgency == "urgent"
    for _ in range(3):
        again, opened = services.sensor_ingest(
            actor=world.dispatcher, device_id="WL-001", metric="water_level", value=2.6, threshold=1.0
        )
        assert not opened and again.pk == alert.pk
    again.refresh_from_db()
    assert again.count == 4 and Ticket.objects.filter(channel="sensor").count() == 1
    services.sensor_ingest(actor=world.dispatcher, device_id="WL-001", metric="water_level", value=0.2, threshold=1.0)
    _a, opened = services.sensor_ingest(
        actor=world.dispatcher, device_id="WL-001", metric="water_level", value=3, threshold=1.0
    )
    assert opened
    with pytest.raises(ValidationFailed):
        services.sensor_ingest(actor=world.dispatcher, device_id="X", metric="m", value="nan", threshold=1)
    with pytest.raises(Forbidden):
        services.sensor_ingest(actor=world.citizen, device_id="X", metric="m", value=1, threshold=1)


def test_ranking_rates(world):
    a = phone_ticket(world)
    b = phone_ticket(world, caller_phone="13911110000")
    for t in (a, b):
        services.ticket_dispatch(actor=world.dispatcher, ticket=t, department=world.urban)
        services.ticket_reply(actor=world.urban_handler, ticket=t, reply="已处理完毕")
    services.ticket_visit(actor=world.agent, ticket=a, satisfaction=3, resolved=True)
    services.ticket_visit(actor=world.agent, ticket=b, satisfaction=1, resolved=False)
    _label, rows = selectors.department_ranking()
    row = next(r for r in rows if r.department_id == world.urban.pk)
    assert (row.tickets, row.responded_on_time, row.visited, row.resolved, row.satisfied) == (2, 2, 2, 1, 1)
    assert row.response_rate == 1.0 and row.resolution_rate == 0.5 and row.score == 60.0


def test_scope_outsiders_see_nothing(world):
    ticket = phone_ticket(world)
    services.ticket_dispatch(actor=world.dispatcher, ticket=ticket, department=world.urban)
    for actor in (world.outsider, world.water_handler, world.citizen):
        with pytest.raises(NotFound):
            selectors.ticket_get(actor=actor, id=ticket.pk)
    assert selectors.ticket_get(actor=world.urban_handler, id=ticket.pk) == ticket
    assert selectors.ticket_track(number=ticket.number, phone="138-1234-5678") == ticket
    with pytest.raises(NotFound):
        selectors.ticket_track(number=ticket.number, phone="13800000000")


def test_rule_test_on_past_tickets(world):
    rule = services.rule_save(actor=world.dispatcher, name="噪音", department=world.urban, keywords="噪音")
    ticket = phone_ticket(world)
    services.ticket_dispatch(actor=world.dispatcher, ticket=ticket, department=world.urban)
    result = services.rule_test(rule=rule)
    assert result["matched"] == 1 and result["agreed"] == 1
    with pytest.raises(ValidationFailed):
        services.rule_save(actor=world.dispatcher, name="空规则", department=world.urban)
    with pytest.raises(Forbidden):
        services.rule_save(actor=world.urban_handler, name="x", department=world.urban, keywords="x")
