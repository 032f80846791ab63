"""Portal pages as a visitor and a signed-in citizen see them."""

import datetime
import re

import pytest
from django.contrib.auth import login
from django.contrib.sessions.backends.db import SessionStore
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from yiwang.catalog import services as catalog_services
from yiwang.catalog.tests.factories import build_world, item_data, life_event_data
from yiwang.core.codes import make_id_number
from yiwang.core.masking import mask_id_number, mask_phone
from yiwang.core.middleware import ELDER_COOKIE
from yiwang.core.models import AuditEvent
from yiwang.identity.models import User
from yiwang.identity.services import user_create

pytestmark = pytest.mark.django_db

PASSWORD = "Qiang-Mima-2026"


@pytest.fixture
def citizen():
    return user_create(
        actor=None,
        username="zhangsan",
        password=PASSWORD,
        kind=User.Kind.CITIZEN,
        real_name="张三",
        id_number=make_id_number("110105", datetime.date(1956, 3, 8), 123),
        phone="13812345678",
    )


def test_home_is_chinese_with_layout_landmarks_and_local_assets(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans"' in html
    assert "一网 · 示范市" in html
    assert 'href="#main"' in html and 'id="main"' in html  # skip link and its target
    assert "事项目录即将上线" in html
    # Every script and stylesheet comes from this server, htmx included.
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert any("htmx" in s for s in sources)
    assert sources and all(s.startswith("/static/") for s in sources), sources


def test_english_comes_from_the_committed_catalog(client):
    client.cookies["django_language"] = "en"
    html = client.get("/").content.decode()
    assert '<html lang="en"' in html
    assert "Yiwang · Demo City" in html
    assert "Elder mode" in html
    assert "The service catalog is coming soon" in html
    assert "Popular" not in html
    assert "事项目录即将上线" not in html


def test_home_says_honestly_that_the_catalog_is_not_there_yet(client):
    html = client.get("/").content.decode()
    assert "事项目录即将上线" in html
    assert 'action="/services/"' in html  # the search box goes to the catalog search


def test_home_offers_published_life_events_once_the_catalog_has_them(client, django_capture_on_commit_callbacks):
    world = build_world()
    with django_capture_on_commit_callbacks(execute=True):
        for code, name in (("SZ-SJJ-0001", "个体工商户设立登记"), ("SZ-SJJ-0002", "公章刻制备案")):
            item = catalog_services.item_save_draft(
                actor=world.market_admin, data=item_data(implementation_code=code, name=name)
            ).version.item
            catalog_services.item_publish(actor=world.market_admin, item=item)
        bundle = catalog_services.life_event_save_draft(
            actor=world.market_admin, data=life_event_data()
        ).version.life_event
        catalog_services.life_event_publish(actor=world.market_admin, life_event=bundle)
    html = client.get("/").content.decode()
    assert "事项目录即将上线" not in html
    assert "开办企业一件事" in html
    assert 'href="/services/life-events/LE-KBQY/"' in html


def test_elder_mode_one_post_sets_long_lived_cookie_and_stays_on(client):
    response = client.post(reverse("portal:elder_mode"), {"enabled": "1", "next": "/?q=x"})
    assert response.status_code == 303
    assert response["Location"] == "/?q=x"
    cookie = response.cookies[ELDER_COOKIE]
    assert cookie.value == "1"
    assert int(cookie["max-age"]) >= 365 * 24 * 3600
    html = client.get("/").content.decode()
    assert '<html lang="zh-hans" class="elder">' in html
    assert "退出长辈模式" in html
    # And off again.
    client.post(reverse("portal:elder_mode"), {"enabled": "0"})
    assert 'class="elder"' not in client.get("/").content.decode()


def test_elder_mode_without_value_flips_and_refuses_get_and_foreign_next(client):
    assert client.get(reverse("portal:elder_mode")).status_code == 405
    response = client.post(reverse("portal:elder_mode"), {"next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert response.cookies[ELDER_COOKIE].value == "1"
    response = client.post(reverse("portal:elder_mode"))
    assert response.cookies[ELDER_COOKIE].value == "0"


def test_elder_mode_is_saved_on_the_account_and_audited(client, citizen):
    client.force_login(citizen)
    client.post(reverse("portal:elder_mode"), {"enabled": "1"})
    citizen.refresh_from_db()
    assert citizen.elder_mode is True
    event = AuditEvent.objects.filter(action="user.preferences", object_id=str(citizen.pk)).get()
    assert event.changes == {"elder_mode": True}
    # A fresh browser (no cookie) signed in as the same person still gets elder mode.
    client.cookies.clear()
    client.force_login(citizen)
    assert 'class="elder"' in client.get("/").content.decode()


def test_elder_mode_chosen_before_sign_in_is_kept_after_sign_in(client, rf, citizen):
    response = client.post(reverse("portal:elder_mode"), {"enabled": "1"})
    # Whatever login view is used, it ends in django.contrib.auth.login with the browser's cookies.
    request = rf.post("/accounts/login/")
    request.COOKIES[ELDER_COOKIE] = response.cookies[ELDER_COOKIE].value
    request.session = SessionStore()
    login(request, citizen, backend="django.contrib.auth.backends.ModelBackend")
    citizen.refresh_from_db()
    assert citizen.elder_mode is True
    client.cookies.clear()
    client.force_login(citizen)
    assert 'class="elder"' in client.get(reverse("portal:account")).content.decode()


def test_account_requires_sign_in(client):
    response = client.get(reverse("portal:account"))
    assert response.status_code == 302
    assert "next=/account/" in response["Location"]


def test_account_shows_masked_personal_data_only(client, citizen):
    client.force_login(citizen)
    html = client.get(reverse("portal:account")).content.decode()
    assert "张三" in html
    assert mask_id_number(citizen.id_number) in html
    assert citizen.id_number not in html
    assert mask_phone("13812345678") in html
    assert "13812345678" not in html
    assert "个人用户" in html
    assert "未启用" in html  # MFA status


def test_layout_assets_are_served_by_the_app_itself(client):
    for path in ("/static/yiwang/yiwang.css", "/static/yiwang/yiwang.js", "/static/django_htmx/htmx-2.min.js"):
        assert client.get(path).status_code == 200, path


def test_error_pages_speak_chinese_and_need_no_request():
    assert "系统繁忙" in render_to_string("500.html")
    assert "页面已过期" in render_to_string("403_csrf.html", {"reason": "x"})


def test_unknown_page_gets_the_friendly_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_language_choice_is_saved_on_the_account_and_follows_the_person(client, citizen):
    client.force_login(citizen)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/account/"})
    assert response.status_code == 302
    assert int(response.cookies["django_language"]["max-age"]) >= 365 * 24 * 3600
    citizen.refresh_from_db()
    assert citizen.language == "en"
    assert AuditEvent.objects.filter(action="user.preferences", changes={"language": "en"}).exists()
    # Another browser, no language chosen there yet: signing in brings English along.
    other = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    other.force_login(citizen)
    response = other.get(reverse("portal:account"))
    assert '<html lang="en"' in response.content.decode()
    assert response.cookies["django_language"].value == "en"
    # A choice made in that browser wins over the account's.
    other.cookies["django_language"] = "zh-hans"
    assert '<html lang="zh-hans"' in other.get("/").content.decode()


def test_anonymous_language_choice_touches_no_account(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.cookies["django_language"].value == "en"
    assert not AuditEvent.objects.filter(action="user.preferences").exists()
