"""A sample relying party: a county system that signs its users in through Yiwang (docs/sso.md).

    pip install authlib httpx
    python examples/sso_rp.py --issuer https://yiwang.example.gov.cn \
        --client-id … --client-secret … --port 8765

Register it first on Yiwang's workbench (安全管理员 → 统一身份认证接入系统) with the redirect
URI http://127.0.0.1:8765/callback and the after-logout address http://127.0.0.1:8765/ . Then
open http://127.0.0.1:8765/ : "sign in" goes to Yiwang (authorization code + PKCE S256), the
callback exchanges the code, checks the ID token's signature (JWKS), issuer, audience, expiry
and nonce, and shows userinfo; "sign out everywhere" is Yiwang's RP-initiated logout, which
ends the Yiwang session and every system's tokens.

Standard library HTTP server + Authlib only; one user at a time (a sample, not a product).
"""

import argparse
import html
import secrets
import warnings
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlencode

import httpx

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken


class RelyingParty:
    def __init__(self, issuer: str, client_id: str, client_secret: str | None, base_url: str, transport=None):
        self.issuer = issuer.rstrip("/")
        self.transport = transport  # tests serve Yiwang in-process; None: the network
        self.http = httpx.Client(transport=transport, timeout=10)
        self.config = self.http.get(self.issuer + "/.well-known/openid-configuration").json()
        if self.config["issuer"] != self.issuer:
            raise SystemExit(f"issuer mismatch: {self.config['issuer']!r} != {self.issuer!r}")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = base_url + "/callback"
        self.after_logout = base_url + "/"
        self.pending: dict[str, tuple[str, str]] = {}  # state → (code_verifier, nonce)
        self.session: dict = {}

    def client(self) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
            scope="openid profile phone",
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=10,
            transport=self.transport,
        )

    def login_url(self) -> str:
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        url, state = self.client().create_authorization_url(
            self.config["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        self.pending[state] = (verifier, nonce)
        return url

    def callback(self, url: str, state: str) -> dict:
        verifier, nonce = self.pending.pop(state)  # unknown state: KeyError, refused
        client = self.client()
        token = client.fetch_token(
            self.config["token_endpoint"], authorization_response=url, code_verifier=verifier, state=state
        )
        keys = JsonWebKey.import_key_set(self.http.get(self.config["jwks_uri"]).json())
        claims = jwt.decode(
            token["id_token"],
            keys,
            claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": self.issuer}},
            claims_params={"nonce": nonce, "client_id": self.client_id},
        )
        claims.validate(leeway=30)
        userinfo = client.get(self.config["userinfo_endpoint"]).json()
        if userinfo["sub"] != claims["sub"]:
            raise ValueError("userinfo sub differs from the ID token's")
        self.session = {"token": token, "claims": dict(claims), "userinfo": userinfo}
        return self.session

    def logout_url(self) -> str:
        id_token = self.session.get("token", {}).get("id_token", "")
        self.session = {}
        return (
            self.config["end_session_endpoint"]
            + "?"
            + urlencode(
                {"id_token_hint": id_token, "post_logout_redirect_uri": self.after_logout, "client_id": self.client_id}
            )
        )


def serve(rp: RelyingParty, port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def _page(self, body: str, status: int = 200) -> None:
            data = f"<!doctype html><meta charset=utf-8><title>示例接入系统</title>{body}".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _redirect(self, url: str) -> None:
            self.send_response(302)
            self.send_header("Location", url)
            self.end_headers()

        def do_GET(self):
            from urllib.parse import parse_qs, urlsplit

            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path == "/login":
                return self._redirect(rp.login_url())
            if parts.path == "/callback":
                if "error" in query:
                    return self._page(f"<p>登录未完成:{html.escape(query['error'][0])}</p>", 400)
                try:
                    session = rp.callback(f"http://127.0.0.1:{port}{self.path}", query.get("state", [""])[0])
                except Exception as exc:  # a sample: show what went wrong
                    return self._page(f"<p>登录失败:{html.escape(str(exc))}</p>", 400)
                info = html.escape(repr(session["userinfo"]))
                return self._page(f"<p>已登录。userinfo:</p><pre>{info}</pre><p><a href=/logout>全网退出</a></p>")
            if parts.path == "/logout":
                return self._redirect(rp.logout_url())
            return self._page("<p><a href=/login>使用一网账号登录</a></p>")

    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", default=None, help="omit for a public client (PKCE alone)")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    serve(RelyingParty(args.issuer, args.client_id, args.client_secret, f"http://127.0.0.1:{args.port}"), args.port)
