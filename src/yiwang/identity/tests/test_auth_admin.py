"""The admin site for users and tokens: writes go through the services; personal data masked."""

import pytest

from yiwang.core.masking import mask_id_number
from yiwang.core.models import AuditEvent
from yiwang.identity import mfa
from yiwang.identity.models import User
from yiwang.identity.tests.auth_helpers import ID_NUMBER, PASSWORD, PHONE, grant_admin_role, make_citizen, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    root = make_staff("root")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    client.force_login(grant_admin_role(root, "security_admin"))  # accounts and tokens: 三员分立
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # as after a TOTP check
    session.save()
    return client


def test_superuser_without_totp_in_this_session_is_held(client):
    root = make_staff("root")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    client.force_login(root)
    response = client.get("/admin/identity/user/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/mfa/setup/")


def test_user_list_masks_names_and_finds_by_id_number(admin_client):
    make_citizen()
    make_staff("clerk")
    found = admin_client.get("/admin/identity/user/", {"q": ID_NUMBER}).content.decode()
    assert "citizen" in found and "clerk" not in found
    page = admin_client.get("/admin/identity/user/").content.decode()
    assert "王*明" in page and ID_NUMBER not in page and PHONE not in page
    detail = admin_client.get(f"/admin/identity/user/{User.objects.get(username='citizen').pk}/change/")
    assert mask_id_number(ID_NUMBER) in detail.content.decode()
    assert ID_NUMBER not in detail.content.decode() and PHONE not in detail.content.decode()


def test_adding_a_user_goes_through_user_create(admin_client):
    response = admin_client.post(
        "/admin/identity/user/add/",
        {"username": "newclerk", "password": PASSWORD, "kind": "staff", "is_staff": "on", "real_name": "李四"},
    )
    assert response.status_code == 302
    user = User.objects.get(username="newclerk")
    assert user.check_password(PASSWORD) and user.is_staff
    assert AuditEvent.objects.filter(action="user.create", object_id=str(user.pk)).exists()

    admin_client.post("/admin/identity/user/add/", {"username": "weak", "password": "123", "kind": "staff"})
    assert not User.objects.filter(username="weak").exists()


def test_the_admins_own_password_form_is_replaced_by_the_audited_one(admin_client):
    """Regression (permission matrix): /admin/password_change/ was Django's form, which set the
    password without the audit event, kept the API tokens alive and did not reset its age."""
    from yiwang.identity.services import api_token_create

    root = User.objects.get(username="root")
    _token, _secret = api_token_create(actor=root, user=root, name="ci")
    for url in ("/admin/password_change/", "/admin/password_change/done/"):
        page = admin_client.get(url)
        assert page.status_code == 302 and page["Location"] == "/accounts/password/"
    posted = admin_client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": "Another-Pass-2026", "new_password2": "Another-Pass-2026"},
    )
    assert posted.status_code == 302 and posted["Location"] == "/accounts/password/"
    root.refresh_from_db()
    assert root.check_password(PASSWORD)  # unchanged: only the identity page changes it, audited
    assert not AuditEvent.objects.filter(action="user.password_change").exists()
