"""`python -m bench.oidc_worker '<json args>'`: set up the OpenID provider benchmark.

Registers a confidential relying party through ``sso.services.client_register`` (as the
security admin), signs a citizen in once through the real authorization-code + PKCE flow
(Django's test client as browser and relying party) for an access token, and stores ``codes``
authorization codes (``Grant`` rows with an S256 challenge, as the authorize endpoint writes
them) so that every token request of the load spends a fresh code. Counts the database
statements of a userinfo call and of a code exchange. Prints one JSON line.
"""

import base64
import hashlib
import json
import secrets
import sys
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import django

django.setup()

CALLBACK = "https://rp.bench.invalid/cb"


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def setup(args: dict) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from oauth2_provider.models import Grant

    from yiwang.core.codes import make_id_number
    from yiwang.identity.models import Department, Role, User
    from yiwang.identity.services import department_create, role_grant_create, user_create
    from yiwang.sso.services import client_register

    password = "Bench-Mima-2024"
    root = user_create(actor=None, username="bench_root", password=password, kind=User.Kind.STAFF, is_staff=True)
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    city = department_create(
        actor=root,
        name="压测市",
        code="bench",
        level=Department.Level.CITY,
        kind=Department.Kind.GOVERNMENT,
        region_code="320500",
    )
    admin = user_create(actor=None, username="bench_sec", password=password, kind=User.Kind.STAFF, is_staff=True)
    role_grant_create(actor=root, user=admin, role=Role.SECURITY_ADMIN, department=city)
    from datetime import date

    citizen = user_create(
        actor=None,
        username="bench_citizen",
        password=password,
        kind=User.Kind.CITIZEN,
        real_name="压测用户",
        id_number=make_id_number("320505", date(1990, 1, 1), 3),
        phone="13900000001",
    )
    app, secret = client_register(
        actor=admin,
        name="压测接入系统",
        confidential=True,
        redirect_uris=CALLBACK,
        scopes=["openid", "profile", "phone"],
        pre_approved=True,
    )

    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(citizen)
    basic = "Basic " + base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()

    def exchange(code: str, verifier: str):
        return browser.post(
            "/oidc/token/",
            {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier},
            HTTP_AUTHORIZATION=basic,
        )

    verifier = secrets.token_urlsafe(48)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid profile phone",
            "code_challenge": _s256(verifier),
            "code_challenge_method": "S256",
            "state": "s",
            "nonce": "n",
        }
    )
    location = browser.get("/oidc/authorize/?" + query)["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    token = exchange(code, verifier).json()["access_token"]

    queries = {}
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            response = browser.get("/oidc/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, response.content
    queries["userinfo"] = len(captured)

    verifier = secrets.token_urlsafe(48)  # every stored code shares one challenge: the verifier is not the cost
    challenge = _s256(verifier)
    expires = timezone.now() + timedelta(hours=2)
    codes = [secrets.token_urlsafe(30) for _ in range(int(args.get("codes", 2000)) + 1)]
    Grant.objects.bulk_create(
        Grant(
            user=citizen,
            application=app,
            code=c,
            expires=expires,
            redirect_uri=CALLBACK,
            scope="openid profile",
            code_challenge=challenge,
            code_challenge_method="S256",
            nonce="n",
            claims="",
        )
        for c in codes
    )
    with CaptureQueriesContext(connection) as captured:
        response = exchange(codes.pop(), verifier)
    assert response.status_code == 200, response.content
    queries["token"] = len(captured)
    return {"token": token, "basic": basic, "codes": codes, "verifier": verifier, "queries": queries}


if __name__ == "__main__":
    print(json.dumps(setup(json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))), flush=True)
