"""The demo city's ratings: a 好评 on the portal and a 差评 (by QR code) in rectification; a rerun changes nothing."""

import io

import pytest
from django.core.management import call_command

from yiwang.evaluation import demo_data, selectors
from yiwang.evaluation.models import Rating, RectificationState
from yiwang.identity.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_ratings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo", "--city-only", stdout=io.StringIO())
    from yiwang.cases import demo_data as cases_demo
    from yiwang.catalog import demo_data as catalog_demo

    catalog_demo.load(None)
    cases_demo.load(None)
    created = demo_data.load(None)
    assert len(created) == 2
    bad = Rating.objects.get(rater__username="citizen02")
    assert bad.channel == "qr" and bad.window is not None
    assert bad.rectification.state == RectificationState.CONTACTED
    assert Rating.objects.get(rater__username="citizen01").level == "very_satisfied"
    head = User.objects.get(username="scjg_head")
    stats = selectors.rating_stats(actor=head)
    assert stats["total"]["total"] == 2 and stats["total"]["good_rate"] == 0.5
    metrics = selectors.service_metrics(actor=head, group="department")
    assert metrics["rows"] and metrics["rows"][0]["cases"] >= 2
    assert demo_data.load(None) == [] and Rating.objects.count() == 2
