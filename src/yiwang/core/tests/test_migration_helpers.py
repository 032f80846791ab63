"""``core.migration_helpers``: the one template-seeding loop of the apps' data migrations."""

import pytest
from django.apps import apps as django_apps

from yiwang.core.migration_helpers import seed_message_templates
from yiwang.messaging.models import Template

pytestmark = pytest.mark.django_db

ROWS = [
    ("test.seeded", "测试通知", {"in_app": ("主题 {{ a }}", "正文 {{ a }}"), "sms": ("短信", "短信正文")}),
    ("test.legal", "测试文书", {"in_app": ("文书", "文书正文")}, "legal"),
]


def test_seeds_every_channel_with_the_row_kind_or_the_default():
    seed_message_templates(django_apps, ROWS, kind="service")
    seeded = {(t.code, t.channel): t for t in Template.objects.filter(code__startswith="test.")}
    assert set(seeded) == {("test.seeded", "in_app"), ("test.seeded", "sms"), ("test.legal", "in_app")}
    assert seeded["test.seeded", "sms"].body == "短信正文"
    assert seeded["test.seeded", "in_app"].kind == "service"
    assert seeded["test.legal", "in_app"].kind == "legal"
    assert all(t.active for t in seeded.values())


def test_an_operators_edit_survives_a_second_run():
    seed_message_templates(django_apps, ROWS)
    Template.objects.filter(code="test.seeded", channel="sms").update(body="运营人员改过的正文", active=False)
    seed_message_templates(django_apps, ROWS)
    edited = Template.objects.get(code="test.seeded", channel="sms")
    assert (edited.body, edited.active) == ("运营人员改过的正文", False)
    assert Template.objects.filter(code__startswith="test.").count() == 3
