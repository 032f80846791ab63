"""The demo city's key tasks: every light shows, with reports, through the services; a rerun changes nothing."""

import io

import pytest
from django.core.management import call_command

from yiwang.identity.models import User
from yiwang.oversight import demo_data, selectors
from yiwang.oversight.models import KeyTask, ProgressReport

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_key_tasks(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path)
    call_command("demo", "--city-only", stdout=io.StringIO())
    created = demo_data.load(None)
    assert len(created) == 12
    leader = User.objects.get(username="city_leader")
    counts = selectors.task_light_counts(actor=leader)
    assert counts == {"green": 4, "yellow": 3, "red": 3, "done": 2}
    assert ProgressReport.objects.filter(status="accepted").count() == 3
    assert ProgressReport.objects.filter(status="returned").count() == 1
    assert ProgressReport.objects.filter(attachments__isnull=False).exists()
    reviewer = User.objects.get(username="scjg_reviewer1")
    assert selectors.task_light_counts(actor=reviewer) == {"green": 0, "yellow": 1, "red": 1, "done": 0}
    assert demo_data.load(None) == [] and KeyTask.objects.count() == 12
