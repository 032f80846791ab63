"""examples/sso_rp.py, the sample relying party of docs/sso.md, signs a demo citizen in with
PKCE, reads userinfo, and logs out everywhere — against the whole application in-process."""

import importlib.util
from pathlib import Path

import pytest

from yiwang.sso.tests.conftest import BASE, browser, transport

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "sso_rp.py"


def _module():
    spec = importlib.util.spec_from_file_location("sso_rp_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_rp_signs_in_reads_userinfo_and_logs_out_everywhere(security_admin, citizen):
    from yiwang.sso import services

    base = "http://127.0.0.1:8765"
    app, secret = services.client_register(
        actor=security_admin,
        name="示例接入系统",
        confidential=True,
        redirect_uris=base + "/callback",
        post_logout_redirect_uris=base + "/",
        scopes=["openid", "profile", "phone"],
        pre_approved=True,
    )
    rp = _module().RelyingParty(BASE, app.client_id, secret, base, transport=transport())
    user_browser = browser(citizen)
    response = user_browser.get(rp.login_url().removeprefix(BASE))
    assert response.status_code == 302
    location = response["Location"]
    state = location.split("state=")[1].split("&")[0]
    session = rp.callback(location, state)
    assert session["userinfo"]["name"] == "王小明"
    assert session["userinfo"]["phone_number_masked"].startswith("138")
    assert session["claims"]["sub"] == session["userinfo"]["sub"]
    token = session["token"]

    response = user_browser.get(rp.logout_url().removeprefix(BASE))
    assert response.status_code == 302 and response["Location"] == base + "/"
    client = rp.client()
    client.token = token
    assert client.get(rp.config["userinfo_endpoint"]).status_code == 401
    assert user_browser.get("/accounts/tokens/").status_code == 302  # signed out of Yiwang too
