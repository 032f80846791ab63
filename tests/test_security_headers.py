"""HTTP security (等保 2.0, docs/security.md): CSP without inline script on every page, no
framing, a referrer policy, secure cookies and HSTS under production settings, and
``check --deploy`` clean there."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

SRC = Path(__file__).resolve().parent.parent / "src" / "yiwang"
BIN = Path(sys.executable).parent


def csp(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/services/", "/accounts/login/", "/api/v1/docs", "/api/v1/me", "/no-such-page/"])
def test_every_answer_carries_csp_without_inline_script_and_no_framing(url):
    response = Client().get(url)
    directives = csp(response)
    assert directives["script-src"] == "script-src 'self'"
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in response["Content-Security-Policy"]
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["object-src"] == "object-src 'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_a_refused_request_carries_the_headers_too(settings):
    settings.YIWANG_MAX_QUERY_STRING = 10
    response = Client().get("/services/?q=" + "x" * 100)
    assert response.status_code == 414 and "frame-ancestors 'none'" in response["Content-Security-Policy"]


INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.IGNORECASE | re.DOTALL)


def test_no_template_has_inline_script_or_event_handler_attributes():
    """The CSP would block them in the browser: behaviour belongs in static/yiwang/yiwang.js."""
    offenders = []
    for template in SRC.rglob("templates/**/*.html"):
        text = template.read_text()
        for match in SCRIPT_TAG.finditer(text):
            attributes, body = match.groups()
            if "src=" not in attributes and "application/json" not in attributes and body.strip():
                offenders.append(f"{template.relative_to(SRC)}: inline <script>")
        offenders += [f"{template.relative_to(SRC)}: {m.group(0)[:60]}" for m in INLINE_HANDLER.finditer(text)]
    assert offenders == []


def production_env(tmp_path, **extra) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "yiwang.settings",
        "YIWANG_VAR_DIR": str(tmp_path),
        "YIWANG_SITE_URL": "https://zwfw.example.gov.cn",
        "YIWANG_ALLOWED_HOSTS": "zwfw.example.gov.cn",
        "YIWANG_SECRET_KEY": secrets.token_urlsafe(50),
        "YIWANG_BEHIND_TLS_PROXY": "1",
        "YIWANG_DEBUG": "",
        **extra,
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest, never in production
    return env


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = subprocess.run(
        [BIN / "yiwang", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_are_secure(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_SSL_REDIRECT, s.DEBUG)"
    )
    run = [BIN / "python", "-c", f"import django; django.setup(); {code}"]
    out = subprocess.run(run, env=production_env(tmp_path), capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["True"] * 7 + ["False"]
    # plain http (the demo): no Secure cookies, no HSTS — a browser would refuse them on http
    demo = production_env(tmp_path, YIWANG_SITE_URL="http://127.0.0.1:8000", YIWANG_BEHIND_TLS_PROXY="")
    out = subprocess.run(run, env=demo, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "False", "True", "True", "False", "True", "False", "False"]
