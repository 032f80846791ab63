"""The pages: the applicant's postal choice with errors next to the fields and the tracking shown
masked; the clerk's forward form; somebody else's case is a 404."""

from django.test import Client

from yiwang.cases import services as case_services
from yiwang.cases.models import Channel
from yiwang.cases.tests.factories import FORM, attach_required
from yiwang.channels.models import CrossRegionForward, PostalDelivery
from yiwang.channels.tests.conftest import approved_case


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_applicant_chooses_post_on_the_portal(world):
    case = approved_case(world)
    client = signed_in(world.base.applicant)
    url = f"/channels/cases/{case.pk}/post/"
    bad = client.post(url, {"recipient_phone": "123", "address": "短", "region_code": "320505"})
    assert bad.status_code == 422
    page = bad.content.decode()
    assert "请填写 11 位手机号码" in page and 'id="id_address_err"' in page
    assert not PostalDelivery.objects.exists()
    good = client.post(
        url, {"recipient_phone": "13812345678", "address": "江苏省苏州市虎丘区枫桥路18号", "region_code": "320505"}
    )
    assert good.status_code == 302
    page = client.get(url).content.decode()
    assert "江苏省苏州市****" in page and "枫桥路18号" not in page and "138****5678" in page
    detail = client.get(f"/cases/{case.pk}/").content.decode()
    assert "邮寄送达" in detail and "枫桥路" not in detail
    assert signed_in(world.base.other_citizen).get(url).status_code == 404


def test_clerk_forwards_on_the_workbench(world):
    case, _ = case_services.case_submit(
        actor=world.wuzhong_clerk,
        item=world.county_item,
        form_data=FORM,
        applicant=world.base.applicant,
        channel=Channel.WINDOW,
        intake_department=world.base.tree.wuzhong,
    )
    attach_required(case, actor=world.wuzhong_clerk)
    client = signed_in(world.wuzhong_clerk)
    url = f"/workbench/channels/cases/{case.pk}/forward/"
    assert "受理并转办理地" in client.get(url).content.decode()
    missing = client.post(url, {"identity_checked": "on", "return_method": "window"})
    assert missing.status_code == 422 and "请先按办理地标准核验申请材料" in missing.content.decode()
    done = client.post(url, {"identity_checked": "on", "materials_checked": "on", "return_method": "window"})
    assert done.status_code == 302 and CrossRegionForward.objects.count() == 1
    reviewer = signed_in(world.huqiu_reviewer)
    listing = reviewer.get("/workbench/channels/").content.decode()
    assert case.number in listing and "签收" in listing
    forward = CrossRegionForward.objects.get()
    assert reviewer.post(f"/workbench/channels/forwards/{forward.pk}/receive/").status_code == 302
    forward.refresh_from_db()
    assert forward.state == "handling"
    assert signed_in(world.base.reviewer).get(url).status_code == 404  # another county's staff
    assert signed_in(world.base.applicant).get("/workbench/channels/").status_code == 404
