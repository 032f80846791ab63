"""Mutual TLS for consuming systems: a credential bound to a client certificate is answered only
when the TLS proxy verified that very certificate.

The end-to-end test runs the production arrangement for real: a test CA and certificates made
with ``cryptography``, Debian's nginx terminating TLS and verifying client certificates against
the CA, passing the verified certificate to the platform (a live server) on the trusted hop, and
an HTTPS client (``ssl`` + ``urllib``) presenting — or not — its certificate and key.
"""

import base64
import datetime
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.test import Client

from yiwang.core.errors import Conflict, Forbidden, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.exchange import gateway, services
from yiwang.exchange.models import ExchangeLog, ShareRequest
from yiwang.exchange.tests.conftest import CITIZEN_ID, build_world

UNTIL = datetime.date.today() + datetime.timedelta(days=100)
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


# --- a test PKI -------------------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "示范市大数据局"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def _cert(subject: str, key, issuer_name, issuer_key, *, ca=False, server=False, days=30, start_days_ago=1):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=start_days_ago))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        import ipaddress

        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    """A CA, a server certificate for 127.0.0.1, and client certificates, written to ``folder``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = _cert(
            "示范市政务数据共享交换 测试CA", self.ca_key, _name("示范市政务数据共享交换 测试CA"), self.ca_key, ca=True
        )
        self.write("ca", self.ca, self.ca_key)
        server_key = ec.generate_private_key(ec.SECP256R1())
        self.write("server", _cert("127.0.0.1", server_key, self.ca.subject, self.ca_key, server=True), server_key)

    def write(self, name: str, cert, key) -> tuple[Path, Path]:
        pem = self.folder / f"{name}.pem"
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path = self.folder / f"{name}.key"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return pem, key_path

    def client(self, name: str, *, by_ca: bool = True, days: int = 30, start_days_ago: int = 1):
        key = ec.generate_private_key(ec.SECP256R1())
        if by_ca:
            cert = _cert(name, key, self.ca.subject, self.ca_key, days=days, start_days_ago=start_days_ago)
        else:  # self-signed: not from the consuming systems' CA
            cert = _cert(name, key, _name(name), key, days=days)
        pem, key_path = self.write(name, cert, key)
        return cert, pem, key_path


def _pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# --- the world ----------------------------------------------------------------------------------------


def _system_with_grant(world, name="社保经办系统"):
    system, secret = services.consumer_system_create(actor=world.hrss_head, department=world.hrss, name=name)
    [request] = services.share_request_create(
        actor=world.hrss_head,
        consumer_department=world.hrss,
        registry="population",
        fields=["name", "sex"],
        purpose="参保登记核验",
        legal_basis="《社会保险法》",
        valid_until=UNTIL,
        system=system,
    )
    if request.status == ShareRequest.Status.PENDING:
        services.share_request_approve(actor=world.police_head, request=request)
    return system, secret


def _basic(system, secret) -> str:
    return "Basic " + base64.b64encode(f"{system.client_id}:{secret}".encode()).decode()


# --- binding, and the trusted hop, without TLS --------------------------------------------------------


@pytest.mark.django_db
def test_binding_is_checked_audited_and_only_the_departments_deciders_may_bind(tmp_path):
    world = build_world()
    pki = Pki(tmp_path)
    cert, _pem_path, _key = pki.client("社保经办系统")
    system, _secret = _system_with_grant(world)
    with pytest.raises(ValidationFailed) as exc:
        services.consumer_system_bind_certificate(actor=world.hrss_head, system=system, certificate="not a cert")
    assert exc.value.code == "certificate_invalid" and "certificate" in exc.value.fields
    expired, _p, _k = pki.client("过期证书", days=-1, start_days_ago=10)
    with pytest.raises(ValidationFailed) as exc:
        services.consumer_system_bind_certificate(actor=world.hrss_head, system=system, certificate=_pem(expired))
    assert exc.value.code == "certificate_expired"
    with pytest.raises(Forbidden):  # the source department's head is not the system's department
        services.consumer_system_bind_certificate(actor=world.police_head, system=system, certificate=_pem(cert))
    bound = services.consumer_system_bind_certificate(actor=world.hrss_head, system=system, certificate=_pem(cert))
    assert bound.client_cert_sha256 == cert.fingerprint(hashes.SHA256()).hex()
    assert "CN=社保经办系统" in bound.client_cert_subject
    other, _secret2 = _system_with_grant(world, name="另一系统")
    with pytest.raises(Conflict):
        services.consumer_system_bind_certificate(actor=world.hrss_head, system=other, certificate=_pem(cert))
    event = AuditEvent.objects.get(action="exchange.system_certificate_bind", object_id=str(system.pk))
    assert event.changes["sha256"] == ["", bound.client_cert_sha256]
    # A bare fingerprint (as an operator may have it), colons allowed; empty unbinds.
    colons = ":".join(bound.client_cert_sha256[i : i + 2] for i in range(0, 64, 2)).upper()
    assert services.consumer_system_bind_certificate(
        actor=world.hrss_head, system=other, certificate=colons.replace(colons[:2], "00", 1)
    ).client_cert_sha256.startswith("00")
    services.consumer_system_bind_certificate(actor=world.hrss_head, system=other, certificate="")
    assert AuditEvent.objects.filter(action="exchange.system_certificate_unbind").count() == 1


@pytest.mark.django_db
def test_certificate_headers_count_only_from_a_configured_tls_proxy(settings, tmp_path):
    world = build_world()
    cert, _p, _k = Pki(tmp_path).client("社保经办系统")
    system, secret = _system_with_grant(world)
    services.consumer_system_bind_certificate(actor=world.hrss_head, system=system, certificate=_pem(cert))
    headers = {
        "HTTP_AUTHORIZATION": _basic(system, secret),
        "HTTP_X_SSL_CLIENT_CERT": quote(_pem(cert)),
        "HTTP_X_SSL_CLIENT_VERIFY": "SUCCESS",
    }
    url = f"/api/v1/exchange/gateway/population/{CITIZEN_ID}"
    settings.YIWANG_EXCHANGE_TLS_PROXIES = ["10.0.0.0/24"]
    forged = Client(REMOTE_ADDR="192.0.2.7", **headers).get(url, {"purpose": "参保登记"})
    assert forged.status_code == 401 and forged.json()["code"] == "client_certificate_required"
    proxied = Client(REMOTE_ADDR="10.0.0.5", **headers).get(url, {"purpose": "参保登记"})
    assert proxied.status_code == 200, proxied.content
    failed = Client(REMOTE_ADDR="10.0.0.5", **(headers | {"HTTP_X_SSL_CLIENT_VERIFY": "FAILED:unable to verify"}))
    assert failed.get(url, {"purpose": "参保登记"}).status_code == 401
    refused = ExchangeLog.objects.filter(outcome="client_certificate_required", consumer=system.client_id)
    assert refused.count() == 2 and refused.first().registry == "population"


# --- the real thing: nginx, TLS, client certificates -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NGINX_CONF = """
{user}
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        ssl_client_certificate {d}/ca.pem;
        ssl_verify_client optional;
        ssl_verify_depth 2;
        location /api/v1/exchange/ {{
            proxy_pass http://127.0.0.1:{app_port};
            proxy_set_header Host 127.0.0.1;
            proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
            proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
        }}
    }}
}}
"""


@pytest.fixture
def tls_proxy(live_server, tmp_path):
    """Debian's nginx in front of the live server, as docs/exchange.md configures it."""
    if NGINX is None:
        if os.environ.get("CI"):  # .ci/run installs it: in CI a missing proxy is a failure, not a skip
            pytest.fail("nginx is not installed (Debian: apt-get install nginx)")
        pytest.skip("nginx is not installed (Debian: apt-get install nginx)")
    folder = tmp_path / "nginx"
    folder.mkdir()
    pki = Pki(folder)
    port = _free_port()
    app_port = live_server.url.rsplit(":", 1)[1]
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(NGINX_CONF.format(user=user, d=folder, port=port, app_port=app_port))
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")], stderr=subprocess.PIPE, stdout=subprocess.PIPE
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail("nginx did not start: " + process.stderr.read().decode())
            time.sleep(0.1)
    try:
        yield pki, f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _https_get(url, *, authorization, ca: Path, cert: tuple[Path, Path] | None, headers=None):
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    assert url.startswith("https://")
    request = urllib.request.Request(url, headers={"Authorization": authorization, **(headers or {})})  # noqa: S310
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:  # noqa: S310 - https only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body)
        except ValueError:
            return error.code, {"raw": body.decode(errors="replace")}


@pytest.mark.django_db(transaction=True)
def test_over_real_tls_only_the_bound_client_certificate_gets_an_answer(settings, tls_proxy):
    pki, base = tls_proxy
    settings.YIWANG_EXCHANGE_TLS_PROXIES = ["127.0.0.1"]
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    world = build_world()
    system, secret = _system_with_grant(world)
    bound_cert, bound_pem, bound_key = pki.client("社保经办系统")
    _other_cert, other_pem, other_key = pki.client("另一系统")
    _rogue_cert, rogue_pem, rogue_key = pki.client("自签名", by_ca=False)
    services.consumer_system_bind_certificate(actor=world.hrss_head, system=system, certificate=_pem(bound_cert))
    gateway.invalidate()
    url = f"{base}/api/v1/exchange/gateway/population/{CITIZEN_ID}?purpose={quote('参保登记核验')}&fields=name,sex"
    auth = _basic(system, secret)
    ca = pki.folder / "ca.pem"

    status, body = _https_get(url, authorization=auth, ca=ca, cert=(bound_pem, bound_key))
    assert status == 200, body
    assert body["values"] == {"name": "张*三", "sex": "male"} and body["masked"] == ["name"]

    status, body = _https_get(url, authorization=auth, ca=ca, cert=(other_pem, other_key))
    assert (status, body["code"]) == (403, "client_certificate_mismatch")

    status, body = _https_get(url, authorization=auth, ca=ca, cert=None)
    assert (status, body["code"]) == (401, "client_certificate_required")

    # The header a client forges is overwritten by the proxy: still no certificate.
    forged = {"X-SSL-Client-Cert": quote(_pem(bound_cert)), "X-SSL-Client-Verify": "SUCCESS"}
    status, body = _https_get(url, authorization=auth, ca=ca, cert=None, headers=forged)
    assert (status, body["code"]) == (401, "client_certificate_required")

    # A certificate not issued by the consuming systems' CA is refused by the proxy itself.
    status, _body = _https_get(url, authorization=auth, ca=ca, cert=(rogue_pem, rogue_key))
    assert status == 400

    # A system without a binding is served as before (client id and secret alone).
    plain, plain_secret = _system_with_grant(world, name="未绑定系统")
    gateway.invalidate()
    status, body = _https_get(url, authorization=_basic(plain, plain_secret), ca=ca, cert=None)
    assert status == 200, body

    outcomes = list(ExchangeLog.objects.filter(consumer=system.client_id).values_list("outcome", flat=True))
    assert outcomes.count("ok") == 1
    assert outcomes.count("client_certificate_mismatch") == 1 and outcomes.count("client_certificate_required") == 2
