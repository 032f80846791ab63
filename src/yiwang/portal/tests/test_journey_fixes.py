"""Issue #14 findings that a unit test can keep fixed (the journey tests in tests/browser check the rest)."""

import re
from pathlib import Path

CSS = Path(__file__).resolve().parents[2] / "static" / "yiwang" / "yiwang.css"


def test_no_bare_badge_rule_after_the_status_colours():
    """A later bare ``.badge {…}`` rule with a background overrode .badge-ok/.badge-warn (all white on red)."""
    css = CSS.read_text()
    ok = css.index(".badge-ok {")
    later = css[ok:]
    for rule in re.finditer(r"(?m)^([^{}\n]*)\{([^}]*)\}", later):
        selectors = [s.strip() for s in rule.group(1).split(",")]
        if ".badge" in selectors:
            assert "background" not in rule.group(2) and "color" not in rule.group(2), rule.group(0)


# ---- sign-in lands staff on the workbench; staff navigation has no citizen entries ----------

import datetime  # noqa: E402

import pytest  # noqa: E402

from yiwang.core.codes import make_id_number, make_uscc  # noqa: E402
from yiwang.identity.models import User  # noqa: E402
from yiwang.identity.services import user_create  # noqa: E402

PASSWORD = "Qiang-Mima-2026"


def _user(username, kind):
    return user_create(
        actor=None,
        username=username,
        password=PASSWORD,
        kind=kind,
        real_name="李四",
        id_number=make_id_number("320505", datetime.date(1980, 1, 2), 7 if kind == User.Kind.STAFF else 8),
        phone="1381234567" + ("7" if kind == User.Kind.STAFF else "8"),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "lands"), [(User.Kind.STAFF, "/workbench/"), (User.Kind.CITIZEN, "/account/")])
def test_sign_in_lands_staff_on_the_workbench(client, settings, kind, lands):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _user("someone", kind)
    response = client.post("/accounts/login/", {"username": "someone", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0].startswith(lands), response.redirect_chain


@pytest.mark.django_db
def test_staff_navigation_has_no_citizen_entries(client):
    client.force_login(_user("clerk", User.Kind.STAFF))
    nav = client.get("/").content.decode().split('class="site-nav"')[1].split("</nav>")[0]
    assert "工作台" in nav and "我的办件" not in nav and "我的证照" not in nav
    client.force_login(_user("citizen", User.Kind.CITIZEN))
    nav = client.get("/").content.decode().split('class="site-nav"')[1].split("</nav>")[0]
    assert "工作台" not in nav and "我的办件" in nav and "我的证照" in nav


# ---- codes checked as the user types (through core.codes) ---------------------------------


def test_id_number_check_flags_a_wrong_check_digit_and_is_silent_while_typing(client):
    good = make_id_number("320505", datetime.date(1980, 1, 2), 7)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    assert client.get("/check/id_number/", {"f_id_number": good[:10]}).content == b""
    html = client.get("/check/id_number/", {"f_id_number": bad}).content.decode()
    assert "is-bad" in html and "校验位不正确" in html
    assert "is-ok" in client.get("/check/id_number/", {"f_id_number": good}).content.decode()
    code = make_uscc("91320505MA1XXXXX1")
    assert "is-ok" in client.get("/check/uscc/", {"f_uscc": code}).content.decode()
    assert client.get("/check/nonsense/", {"x": "1"}).status_code == 404
    client.cookies["django_language"] = "en"
    assert "check" in client.get("/check/id_number/", {"f_id_number": bad}).content.decode().lower()


def test_id_fields_ask_for_the_check():
    from yiwang.cases.forms import schema_fields

    schema = {
        "properties": {
            "id_number": {"type": "string", "title": "公民身份号码", "pattern": "^[0-9]{17}[0-9Xx]$"},
            "uscc": {"type": "string", "title": "统一社会信用代码"},
            "name": {"type": "string", "title": "姓名"},
        }
    }
    assert [f.check for f in schema_fields(schema)] == ["id_number", "uscc", ""]
    from django.template.loader import render_to_string

    html = render_to_string("cases/_schema_fields.html", {"fields": schema_fields(schema)})
    assert 'hx-get="/check/id_number/"' in html and 'id="id_f_id_number_check"' in html


@pytest.mark.django_db
def test_home_links_the_progress_lookup(client):
    html = client.get("/").content.decode()
    assert 'href="/cases/progress/"' in html and "办件进度查询" in html
