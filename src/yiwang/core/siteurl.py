"""The public base URL (``settings.SITE_URL``) against how the server is really reached.

QR codes on licenses (亮证 and the PDF) and links in notices are built from SITE_URL, because
a QR code outlives the request that drew it. When the platform is served on another host or
port than SITE_URL names, every scanned QR code points to the wrong server; these checks say so
at start-up (``yiwang serve``) and on the first request that arrives under another address.
"""

import logging
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger("yiwang.siteurl")

_WILDCARD_HOSTS = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 - names a bind address, binds nothing


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme or "http"
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def serve_site_url(host: str, port: int) -> str | None:
    """The SITE_URL ``yiwang serve --host H --port P`` should give its web workers, or None to keep the setting.

    Only when YIWANG_SITE_URL is not set and the bind address is a concrete host: then the QR
    codes follow the port the demo runs on (``make demo PORT=8123``).
    """
    import os

    if os.environ.get("YIWANG_SITE_URL") or host in _WILDCARD_HOSTS:
        return None
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def bind_mismatch(host: str, port: int, site_url: str | None = None) -> str | None:
    """A warning when SITE_URL does not name the address the server binds, else None."""
    site_url = site_url or settings.SITE_URL
    _scheme, site_host, site_port = _origin(site_url)
    if host in _WILDCARD_HOSTS:
        return None  # reached under some other name: only requests can tell (see request_mismatch)
    local = {"127.0.0.1", "localhost", "::1", "[::1]"}
    same_host = site_host == host.strip("[]").lower() or (site_host in local and host in local)
    if same_host and site_port == port:
        return None
    return (
        f"YIWANG_SITE_URL is {site_url} but the server listens on {host}:{port}: QR codes on licenses "
        f"and links in notices will point to {site_url}. Set YIWANG_SITE_URL to the address people use."
    )


_warned: set[str] = set()


def request_mismatch(scheme: str, host_header: str, site_url: str | None = None) -> str | None:
    """A warning when a request reached the server under another origin than SITE_URL, else None."""
    site_url = site_url or settings.SITE_URL
    reached = f"{scheme}://{host_header}"
    if _origin(reached) == _origin(site_url):
        return None
    return (
        f"this request reached the server as {reached} but YIWANG_SITE_URL is {site_url}: QR codes "
        f"and links built now point to {site_url}. Set YIWANG_SITE_URL to the public address."
    )


class SiteUrlCheckMiddleware:
    """Log once per origin seen when requests arrive under another address than SITE_URL."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = request.META.get("HTTP_HOST", "")
        if host and host not in _warned:
            _warned.add(host)
            warning = request_mismatch(request.scheme, host)
            if warning:
                logger.warning(warning)
        return self.get_response(request)
