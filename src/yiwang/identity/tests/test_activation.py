"""Walk-in account activation (账号激活码): a window clerk issues a one-time code for the
account he registered; the citizen sets the first password at /accounts/activate/."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.core import ratelimit
from yiwang.core.codes import make_id_number
from yiwang.core.errors import Conflict, Forbidden, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity.models import ActivationCode, Role, User
from yiwang.identity.services import activation_code_issue, user_activate
from yiwang.identity.tests.tree import build_tree, make_staff

NEW_PASSWORD = "Xin-Mima-2025!"


@pytest.fixture
def setup(db):
    tree = build_tree()
    clerk = make_staff("window1", real_name="窗口小李")
    tree.grant(clerk, Role.WINDOW_CLERK, tree.huqiu)
    walk_in = make_staff(
        "walkin_abc",
        kind=User.Kind.CITIZEN,
        real_name="王五",
        id_number=make_id_number("320505", datetime.date(1970, 3, 4), 31),
    )
    return tree, clerk, walk_in


def activate(walk_in, code, password=NEW_PASSWORD):
    return user_activate(id_number=walk_in.id_number, code=code, new_password=password)


def test_issue_and_activate(setup):
    _tree, clerk, walk_in = setup
    row, code = activation_code_issue(actor=clerk, user=walk_in)
    assert len(code) == 12 and row.code_digest != code and code not in row.code_digest
    assert row.expires_at - row.issued_at == datetime.timedelta(days=30)
    # Typed as printed (groups, lower case): still the code.
    spaced = "-".join(code[i : i + 4] for i in (0, 4, 8)).lower()
    user = activate(walk_in, spaced)
    assert user.check_password(NEW_PASSWORD)
    row.refresh_from_db()
    assert row.used_at is not None
    actions = list(AuditEvent.objects.filter(object_id=str(walk_in.pk)).values_list("action", flat=True))
    assert "user.activation_code_issue" in actions and "user.activate" in actions
    assert code not in str(list(AuditEvent.objects.values_list("changes", flat=True)))


def test_wrong_code_and_unknown_id_get_the_same_answer(setup):
    _tree, clerk, walk_in = setup
    activation_code_issue(actor=clerk, user=walk_in)
    with pytest.raises(ValidationFailed) as wrong:
        activate(walk_in, "AAAABBBBCCCC")
    with pytest.raises(ValidationFailed) as unknown:
        nobody = make_id_number("320505", datetime.date(1980, 1, 1), 7)
        user_activate(id_number=nobody, code="AAAABBBBCCCC", new_password=NEW_PASSWORD)
    assert wrong.value.code == unknown.value.code == "activation_invalid"
    assert wrong.value.fields == unknown.value.fields
    walk_in.refresh_from_db()
    assert not walk_in.check_password(NEW_PASSWORD)


def test_expired_code(setup, monkeypatch):
    _tree, clerk, walk_in = setup
    _row, code = activation_code_issue(actor=clerk, user=walk_in)
    later = timezone.now() + datetime.timedelta(days=31)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(ValidationFailed) as exc:
        activate(walk_in, code)
    assert exc.value.code == "activation_expired" and "过期" in exc.value.fields["code"][0]


def test_a_code_works_once(setup):
    _tree, clerk, walk_in = setup
    _row, code = activation_code_issue(actor=clerk, user=walk_in)
    activate(walk_in, code)
    with pytest.raises(ValidationFailed) as exc:
        activate(walk_in, code, password="Andere-Mima-2026")
    assert exc.value.code == "activation_used"
    walk_in.refresh_from_db()
    assert walk_in.check_password(NEW_PASSWORD)
    with pytest.raises(Conflict):  # an activated account gets no new code
        activation_code_issue(actor=clerk, user=walk_in)


def test_a_weak_password_consumes_nothing(setup):
    _tree, clerk, walk_in = setup
    _row, code = activation_code_issue(actor=clerk, user=walk_in)
    with pytest.raises(ValidationFailed) as exc:
        activate(walk_in, code, password="12345678")
    assert exc.value.code == "weak_password" and "new_password1" in exc.value.fields
    assert activate(walk_in, code).check_password(NEW_PASSWORD)


def test_reissue_invalidates_the_old_code(setup):
    _tree, clerk, walk_in = setup
    _first, old = activation_code_issue(actor=clerk, user=walk_in)
    _second, new = activation_code_issue(actor=clerk, user=walk_in)
    with pytest.raises(ValidationFailed) as exc:
        activate(walk_in, old)
    assert exc.value.code == "activation_revoked"
    assert activate(walk_in, new).check_password(NEW_PASSWORD)
    reissue = AuditEvent.objects.filter(action="user.activation_code_issue").order_by("sequence").last()
    assert reissue.changes["reissue"] is True and reissue.actor_id == clerk.pk


def test_only_window_clerks_issue_and_only_for_pending_citizen_accounts(setup):
    tree, clerk, walk_in = setup
    reviewer = make_staff("rev1")
    tree.grant(reviewer, Role.REVIEWER, tree.huqiu)
    with pytest.raises(Forbidden):
        activation_code_issue(actor=reviewer, user=walk_in)
    with pytest.raises(Forbidden):
        activation_code_issue(actor=walk_in, user=walk_in)
    with pytest.raises(Conflict):
        activation_code_issue(actor=clerk, user=reviewer)  # staff accounts never
    walk_in.last_login = timezone.now()
    walk_in.save(update_fields=["last_login"])
    with pytest.raises(Conflict):
        activation_code_issue(actor=clerk, user=walk_in)  # in use: a code must not take it over
    assert ActivationCode.objects.count() == 0


def test_activation_page_is_rate_limited_per_id_number_and_then_signs_in(setup, settings, monkeypatch):
    settings.YIWANG_RATE_LIMITS = {"account_activate_id": (3, 900)}
    _tree, clerk, walk_in = setup
    _row, code = activation_code_issue(actor=clerk, user=walk_in)
    moment = timezone.now()
    monkeypatch.setattr(ratelimit, "clock", lambda: moment)
    client = Client()
    form = {"id_number": walk_in.id_number, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    weak = client.post("/accounts/activate/", {**form, "code": code, "new_password1": "abc", "new_password2": "abc"})
    assert weak.status_code == 422  # not a guess: not counted
    for guess in ("AAAABBBBCCC2", "AAAABBBBCCC3", "AAAABBBBCCC4"):
        page = client.post("/accounts/activate/", {**form, "code": guess})
        assert page.status_code == 422 and "身份证号或激活码不正确" in page.content.decode()
    refused = client.post("/accounts/activate/", {**form, "code": code}, REMOTE_ADDR="192.0.2.9")
    assert refused.status_code == 429 and refused["Retry-After"]
    walk_in.refresh_from_db()
    assert not walk_in.check_password(NEW_PASSWORD)

    moment = moment + datetime.timedelta(minutes=15)  # the next window
    done = client.post("/accounts/activate/", {**form, "code": code})
    assert done.status_code == 302 and done.url == "/accounts/login/"
    login = client.post("/accounts/login/", {"username": walk_in.id_number, "password": NEW_PASSWORD})
    assert login.status_code == 302
    assert client.get("/account/").status_code == 200


def test_an_old_code_cannot_take_over_an_account_that_has_been_used_since(setup):
    _tree, clerk, walk_in = setup
    _row, code = activation_code_issue(actor=clerk, user=walk_in)
    walk_in.set_password("Jiu-Mima-2024!")
    walk_in.last_login = timezone.now()  # the citizen has signed in since the paper code was printed
    walk_in.save(update_fields=["password", "last_login"])
    with pytest.raises(ValidationFailed) as exc:
        activate(walk_in, code)
    assert exc.value.code == "activation_invalid"
    walk_in.refresh_from_db()
    assert walk_in.check_password("Jiu-Mima-2024!") and not walk_in.check_password(NEW_PASSWORD)
    assert not ActivationCode.objects.filter(user=walk_in, used_at__isnull=False).exists()
