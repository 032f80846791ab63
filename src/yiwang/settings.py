"""Yiwang settings. Everything an operator may change comes from the environment.

See the README's "Configuration" section for the variables; defaults give a
single-machine demo on SQLite under ``var/``.
"""

import os
import secrets
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent
_checkout = PACKAGE_DIR.parent.parent
PROJECT_ROOT = _checkout if (_checkout / "pyproject.toml").exists() else Path.cwd()


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in env(name, default).split(",") if part.strip()]


VAR_DIR = Path(env("YIWANG_VAR_DIR", str(PROJECT_ROOT / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("YIWANG_DEBUG", False)


def _secret(name: str, filename: str, nbytes: int) -> str:
    """A secret from the environment, else one generated once and kept under var/.

    The file fallback keeps a single-machine install working across restarts; a
    deployment with several machines must set the variable (see README).
    """
    value = env(name)
    if value:
        return value
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret("YIWANG_SECRET_KEY", "secret_key", 50)
# Key for encrypting personal data at rest (SM4-GCM) and for blind indexes (HMAC-SM3).
# Changing it makes stored personal data unreadable: back it up with the database.
DATA_KEY = _secret("YIWANG_DATA_KEY", "data_key", 32)
# Key that encrypts the seals' private keys (SM2 license signing, platform CA); back it up too.
SEAL_KEY = _secret("YIWANG_SEAL_KEY", "seal_key", 32)

ALLOWED_HOSTS = env_list("YIWANG_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("YIWANG_CSRF_TRUSTED_ORIGINS", "")
SITE_URL = env("YIWANG_SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "yiwang.core",
    "yiwang.identity",
    "yiwang.registries",
    "yiwang.exchange",
    "yiwang.opendata",
    "yiwang.policies",
    "yiwang.catalog",
    "yiwang.cases",
    "yiwang.licenses",
    "yiwang.messaging",
    "yiwang.hotline",
    "yiwang.supervision",
    "yiwang.portal",
    "yiwang.workbench",
    "yiwang.demo",
    "yiwang.evaluation",
    "yiwang.sso",
    "yiwang.documents",
    "yiwang.channels",
    "yiwang.payments",
    "yiwang.analytics",
    "oauth2_provider",
    "yiwang.oversight",
    "yiwang.appointments",
    "yiwang.publicity",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "yiwang.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "yiwang.core.middleware.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "yiwang.identity.middleware.IdleTimeoutMiddleware",
    "yiwang.appointments.middleware.KioskMiddleware",
    "yiwang.identity.middleware.MfaRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "yiwang.core.middleware.PreferencesMiddleware",
    "yiwang.portal.middleware.AccountLanguageMiddleware",
    "yiwang.core.siteurl.SiteUrlCheckMiddleware",
    "axes.middleware.AxesMiddleware",
    "yiwang.core.middleware.RateLimitedMiddleware",
]

ROOT_URLCONF = "yiwang.urls"
WSGI_APPLICATION = "yiwang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yiwang.core.context_processors.preferences",
                "yiwang.messaging.context_processors.unread_messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# DATABASE_URL, e.g. postgres://yiwang@db.internal:5432/yiwang; default: SQLite under var/.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'yiwang.sqlite3'}",
        conn_max_age=env_int("YIWANG_DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed beside one writer; IMMEDIATE takes the write lock at BEGIN so
    # two writers queue (busy timeout) instead of failing half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identity and security (等保 2.0; see docs/security.md) -------------------------------
AUTH_USER_MODEL = "identity.User"
# YIWANG_PASSWORD_HASHER: argon2 (default) or sm3 (PBKDF2-HMAC-SM3, for 密评). The first entry
# hashes new passwords; the others still verify old hashes, which are rewritten at sign-in.
_HASHERS = {
    "argon2": "django.contrib.auth.hashers.Argon2PasswordHasher",
    "sm3": "yiwang.identity.hashers.PBKDF2SM3PasswordHasher",
}
_hasher_choice = (env("YIWANG_PASSWORD_HASHER") or "argon2").strip().lower()
if _hasher_choice not in _HASHERS:
    raise ImproperlyConfigured(f"YIWANG_PASSWORD_HASHER must be one of {sorted(_HASHERS)}, got {_hasher_choice!r}")
PASSWORD_HASHERS = [
    _HASHERS[_hasher_choice],
    *(path for name, path in _HASHERS.items() if name != _hasher_choice),
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "yiwang.sso.hashers.ClientSecretHasher",  # relying parties' generated secrets only (docs/sso.md)
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "yiwang.identity.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "yiwang.identity.passwords.PasswordHistoryValidator", "OPTIONS": {"count": 5}},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "portal:after_login"  # staff land on the workbench (issue #14)
LOGOUT_REDIRECT_URL = "portal:home"

AXES_FAILURE_LIMIT = env_int("YIWANG_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("YIWANG_LOGIN_LOCKOUT_MINUTES", 30))
# Failures are counted per account whatever the address (password guessing spread over many IPs)
# and per address whatever the account (one IP spraying many accounts). Behind a shared NAT (a
# service hall) the per-address count may lock a whole office: YIWANG_LOGIN_LOCKOUT_PER_IP=0
# counts per account+address there instead.
AXES_LOCKOUT_PARAMETERS = (
    ["username", "ip_address"]
    if env_bool("YIWANG_LOGIN_LOCKOUT_PER_IP", True)
    else ["username", ["username", "ip_address"]]
)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "yiwang.identity.views.lockout_response"

# Idle session timeout in minutes (等保: 登录超时); the session also ends when the browser closes.
YIWANG_IDLE_TIMEOUT_MINUTES = env_int("YIWANG_IDLE_TIMEOUT_MINUTES", 30)
# Staff passwords must be changed after this many days (等保: 定期更换); 0 turns the rule off.
YIWANG_PASSWORD_MAX_AGE_DAYS = env_int("YIWANG_PASSWORD_MAX_AGE_DAYS", 90)
# Seconds a user's role grants stay in the cache between requests (identity.selectors.actor_grants;
# every change to a grant or a department invalidates them at once). Only safe with a cache that
# every web process shares, so 0 (read per request) unless YIWANG_CACHE_URL configures one.
YIWANG_GRANTS_CACHE_SECONDS = env_int("YIWANG_GRANTS_CACHE_SECONDS", 300 if env("YIWANG_CACHE_URL") else 0)
YIWANG_GRANTS_CACHE = "default"  # the alias in CACHES


# Rate limits (core.ratelimit): "scope=limit/seconds,…" overrides the defaults, e.g.
# YIWANG_RATE_LIMITS="case_progress_number=5/900,license_verify_ip=120/60"; a limit of 0 turns a rule off.
def _rate_limits(name: str) -> dict[str, tuple[int, int]]:
    rules = {}
    for part in env_list(name, ""):
        scope, _sep, rule = part.partition("=")
        limit, slash, seconds = rule.partition("/")
        try:
            if not scope.strip() or not slash:
                raise ValueError(part)
            rules[scope.strip()] = (int(limit), int(seconds))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: expected e.g. 'case_progress_number=5/900', got {part!r}") from exc
    return rules


YIWANG_RATE_LIMITS = _rate_limits("YIWANG_RATE_LIMITS")
# Reverse proxies (addresses or networks) whose X-Forwarded-For is believed; empty: use REMOTE_ADDR.
YIWANG_TRUSTED_PROXIES = env_list("YIWANG_TRUSTED_PROXIES", "")
# Request limits (core.middleware.RequestGuardMiddleware): a whole request, files included, is
# refused with 413 above YIWANG_MAX_REQUEST_BYTES before it is read; a body that is not a file
# upload above DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB); a query string above
# YIWANG_MAX_QUERY_STRING characters with 414. Put the same cap in the reverse proxy
# (nginx client_max_body_size) so nothing larger reaches the application at all.
YIWANG_MAX_REQUEST_BYTES = env_int("YIWANG_MAX_REQUEST_BYTES", 64 * 1024 * 1024)
YIWANG_MAX_QUERY_STRING = env_int("YIWANG_MAX_QUERY_STRING", 4096)
# 好差评 (docs/evaluation.md): days within which an applicant may change his rating once, and the
# working days a department has to rectify a bad rating (reminded this many working days before).
YIWANG_RATING_CHANGE_DAYS = env_int("YIWANG_RATING_CHANGE_DAYS", 5)
YIWANG_RECTIFICATION_WORKING_DAYS = env_int("YIWANG_RECTIFICATION_WORKING_DAYS", 15)
YIWANG_RECTIFICATION_REMIND_DAYS = env_int("YIWANG_RECTIFICATION_REMIND_DAYS", 3)
# Days a window QR code for rating a case stays valid.
YIWANG_RATING_QR_DAYS = env_int("YIWANG_RATING_QR_DAYS", 30)
# Days a walk-in applicant's account activation code (账号激活码) stays valid.
YIWANG_ACTIVATION_CODE_DAYS = env_int("YIWANG_ACTIVATION_CODE_DAYS", 30)
SESSION_COOKIE_AGE = 12 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# HTTP security (docs/security.md "HTTP headers"). With YIWANG_SITE_URL on https the cookies
# are Secure and HSTS is sent; `yiwang check --deploy` is clean with the settings below.
SECURE = env_bool("YIWANG_SECURE_COOKIES", not DEBUG and SITE_URL.startswith("https://"))
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
LANGUAGE_COOKIE_SECURE = SECURE
CSRF_COOKIE_HTTPONLY = True  # forms carry the token; no script reads the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
BEHIND_TLS_PROXY = env_bool("YIWANG_BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Redirect http → https in the application only when it can tell (behind a TLS proxy that says
# so, or TLS in front of gunicorn); the proxy normally redirects itself.
SECURE_SSL_REDIRECT = env_bool("YIWANG_SSL_REDIRECT", SECURE and BEHIND_TLS_PROXY)
# HSTS: a year by default once the site is https; YIWANG_HSTS_SECONDS=0 turns it off.
SECURE_HSTS_SECONDS = env_int("YIWANG_HSTS_SECONDS", 365 * 24 * 3600 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("YIWANG_HSTS_INCLUDE_SUBDOMAINS", True)
# Browser preload lists are a one-way commitment for the whole domain: the operator's call.
SECURE_HSTS_PRELOAD = env_bool("YIWANG_HSTS_PRELOAD", False)
# No inline script anywhere (behaviour comes from static/yiwang/yiwang.js and data attributes);
# inline style stays allowed (htmx adds its indicator style). No framing, no other origin.
YIWANG_CONTENT_SECURITY_POLICY = env(
    "YIWANG_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'",
)
YIWANG_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# check --deploy's W021 asks for HSTS preload; that is a decision per domain (see above).
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD or not SECURE_HSTS_SECONDS else ["security.W021"]

# --- Internationalization: Chinese first ---------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# The language switch's choice outlives the browser session (Django's default cookie does not).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env("YIWANG_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files: served by the app itself (WhiteNoise), never from a CDN -------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from finders until collectstatic fills it
# The shared layout's own assets (src/yiwang/static/yiwang/); apps keep theirs in <app>/static/.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env("YIWANG_MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Background work: Django's task API on a database queue ---------------------------------
TASKS = {
    "default": {
        "BACKEND": env("YIWANG_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
# A task RUNNING longer than this was left by a worker that died: it is queued again, and failed
# after YIWANG_TASK_MAX_CLAIMS claims (yiwang.core.taskqueue).
TASK_LEASE_SECONDS = env_int("YIWANG_TASK_LEASE_SECONDS", 900)
TASK_MAX_CLAIMS = env_int("YIWANG_TASK_MAX_CLAIMS", 3)

# --- Messaging (docs/messaging.md): e-mail and the SMS gateway ------------------------------
# Without YIWANG_EMAIL_HOST (or an explicit YIWANG_EMAIL_BACKEND) e-mail is written as files
# under var/mail/, so nothing leaves the machine.
EMAIL_HOST = env("YIWANG_EMAIL_HOST", "") or "localhost"
EMAIL_BACKEND = env(
    "YIWANG_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env("YIWANG_EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = Path(env("YIWANG_EMAIL_FILE_PATH", str(VAR_DIR / "mail")))
EMAIL_PORT = env_int("YIWANG_EMAIL_PORT", 25)
EMAIL_HOST_USER = env("YIWANG_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("YIWANG_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("YIWANG_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("YIWANG_EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("YIWANG_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("YIWANG_EMAIL_FROM", "一网政务服务 <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# SMS: an HTTP gateway on the extranet that takes JSON (see docs/messaging.md); unset = SMS skipped.
YIWANG_SMS_GATEWAY_URL = env("YIWANG_SMS_GATEWAY_URL", "")
YIWANG_SMS_GATEWAY_TOKEN = env("YIWANG_SMS_GATEWAY_TOKEN", "")
YIWANG_SMS_GATEWAY_TIMEOUT = env_int("YIWANG_SMS_GATEWAY_TIMEOUT", 10)
YIWANG_SMS_SIGN = env("YIWANG_SMS_SIGN", "一网政务")
# E-mail and SMS: attempts per message, and the wait before the first retry (doubled each time).
YIWANG_MESSAGE_MAX_ATTEMPTS = env_int("YIWANG_MESSAGE_MAX_ATTEMPTS", 3)
YIWANG_MESSAGE_RETRY_SECONDS = env_int("YIWANG_MESSAGE_RETRY_SECONDS", 60)


def env_schedule(name: str) -> dict[str, int]:
    """``cases.sweep=30m,licenses.expire=1d`` → ``{"cases.sweep": 1800, "licenses.expire": 86400}``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    schedule = {}
    for part in env_list(name, ""):
        job, sep, value = part.partition("=")
        value = value.strip().lower()
        unit = units.get(value[-1:])
        number = value[:-1] if unit else value
        if not sep or not job.strip() or not number.isdigit() or int(number) == 0:
            raise ImproperlyConfigured(f"{name}: expected e.g. 'cases.sweep=30m,licenses.expire=1d', got {part!r}")
        schedule[job.strip()] = int(number) * (unit or 1)
    return schedule


# Seconds between a background worker's heartbeats (core.health; the operator's health page
# reports a worker silent for three beats, at least a minute, as stopped).
YIWANG_WORKER_HEARTBEAT_SECONDS = env_int("YIWANG_WORKER_HEARTBEAT_SECONDS", 15)

# Periodic jobs' intervals in seconds, overriding the code's defaults per job (docs/operations.md);
# an interval set in the admin overrides this in turn.
YIWANG_SCHEDULE = env_schedule("YIWANG_SCHEDULE")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("YIWANG_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# chinesecalendar ends at the last year the State Council has published; warn, don't crash.
warnings.filterwarnings("default", module="yiwang.core.calendar")

# === Single sign-on: Yiwang as an OpenID Connect provider (branch sso; docs/sso.md) ===========
# The RS256 signing key: YIWANG_OIDC_PRIVATE_KEY (PEM text), else var/oidc_keys/current.pem,
# generated once. Retired keys (`yiwang oidc_rotate_key` moves the current one to
# retired-<time>.pem) stay in the JWKS so tokens they signed keep verifying until they expire.
YIWANG_OIDC_KEY_DIR = Path(env("YIWANG_OIDC_KEY_DIR", str(VAR_DIR / "oidc_keys")))


def _oidc_keys() -> tuple[str, list[str]]:
    retired = sorted(YIWANG_OIDC_KEY_DIR.glob("retired-*.pem"), reverse=True)
    inactive = [path.read_text() for path in retired]
    if env("YIWANG_OIDC_PRIVATE_KEY"):
        return env("YIWANG_OIDC_PRIVATE_KEY"), inactive
    current = YIWANG_OIDC_KEY_DIR / "current.pem"
    if not current.exists():
        from yiwang.sso.keys import write_new_key

        write_new_key(current)
    return current.read_text(), inactive


_OIDC_KEY, _OIDC_INACTIVE_KEYS = _oidc_keys()
YIWANG_OIDC_PRIVATE_KEY_FROM_ENV = bool(env("YIWANG_OIDC_PRIVATE_KEY"))
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"  # named for migrations' swappable lookup
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _OIDC_KEY,
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": _OIDC_INACTIVE_KEYS,
    # Empty: the issuer is this site's root as the request reaches it (behind a proxy, set
    # YIWANG_OIDC_ISSUER to the public https origin so tokens name one issuer).
    "OIDC_ISS_ENDPOINT": env("YIWANG_OIDC_ISSUER", ""),
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_SUBJECT_TYPES_SUPPORTED": ["public", "pairwise"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": True,
    "OAUTH2_VALIDATOR_CLASS": "yiwang.sso.oidc.YiwangValidator",
    "CLIENT_SECRET_HASHER": "hmac_sm3_client_secret",  # yiwang.sso.hashers: fast, for 128 random chars
    "SCOPES": {
        "openid": "登录身份",
        "profile": "姓名、用户类型与实名等级",
        "phone": "手机号码",
        "id_number": "居民身份证号码",
        "enterprise": "所代表企业的名称与统一社会信用代码",
        "delegation": "您作为被授权人可代为办理的企业或个人(授权代办)",
    },
    "DEFAULT_SCOPES": ["openid"],
    "PKCE_REQUIRED": True,  # every client, public or confidential (RFC 9700)
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,  # bearer tokens in the header, never a URL
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207 `iss` in the authorization response
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # access and refresh tokens stored hashed, not in plaintext
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if SECURE else ["http", "https"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("YIWANG_OIDC_ACCESS_TOKEN_SECONDS", 600),
    "ID_TOKEN_EXPIRE_SECONDS": env_int("YIWANG_OIDC_ACCESS_TOKEN_SECONDS", 600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("YIWANG_OIDC_REFRESH_TOKEN_SECONDS", 12 * 3600),
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # A client seen before with the same scopes is not asked again (SSO); government systems
    # registered as pre-approved never are (Application.skip_authorization).
    "REQUEST_APPROVAL_PROMPT": "auto",
}
# === end of branch sso's block ================================================================

# === Beyond one machine (branch scaleout; docs/operations.md "Province topology") ==============
# Everything a second web node needs to share lives in the database, the object store or the
# shared cache; without these variables Yiwang stays a single-machine install (files under
# MEDIA_ROOT, a per-process cache, one database).

# Object store (S3-compatible: SeaweedFS, MinIO, Ceph RGW, a cloud's OSS/COS): uploaded case
# materials go there instead of MEDIA_ROOT when YIWANG_S3_BUCKET is set. Objects are private
# (no public ACL, no public URLs): every download is streamed through the app after its own
# permission check.
YIWANG_S3_BUCKET = env("YIWANG_S3_BUCKET", "")
if YIWANG_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "yiwang.core.storage.ObjectStorage",
        "OPTIONS": {
            "bucket_name": YIWANG_S3_BUCKET,
            "endpoint_url": env("YIWANG_S3_ENDPOINT_URL", "") or None,
            "access_key": env("YIWANG_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env("YIWANG_S3_SECRET_ACCESS_KEY", "") or None,
            "region_name": env("YIWANG_S3_REGION", "") or None,
            "location": env("YIWANG_S3_PREFIX", "").strip("/"),
            "addressing_style": env("YIWANG_S3_ADDRESSING_STYLE", "path"),
            # a CA bundle's path, or "false" to skip TLS verification (never in production)
            "verify": (
                False
                if env("YIWANG_S3_VERIFY", "").lower() in {"0", "false", "no", "off"}
                else (env("YIWANG_S3_VERIFY", "") or None)
            ),
        },
    }

# Shared cache (Redis or Valkey): what one node caches (role grants, the replica pin below)
# must be seen by every node. Unset: each process keeps its own in memory.
YIWANG_CACHE_URL = env("YIWANG_CACHE_URL", "")
if YIWANG_CACHE_URL:
    if not YIWANG_CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"YIWANG_CACHE_URL: expected redis://host:6379/0, rediss://… or unix://…, got {YIWANG_CACHE_URL!r}"
        )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": YIWANG_CACHE_URL,
            "KEY_PREFIX": env("YIWANG_CACHE_PREFIX", "yiwang"),
            "TIMEOUT": 300,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "yiwang"}}

# Read replica (PostgreSQL streaming replication, set up by the operator): lag-tolerant
# selectors read from it; writes, transactions and a client's reads for a few seconds after
# its last write go to the primary (yiwang.core.replica).
YIWANG_REPLICA_PIN_SECONDS = env_int("YIWANG_REPLICA_PIN_SECONDS", 10)
YIWANG_READ_REPLICA = None
if env("YIWANG_REPLICA_DATABASE_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        env("YIWANG_REPLICA_DATABASE_URL"),
        conn_max_age=env_int("YIWANG_DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
    YIWANG_READ_REPLICA = "replica"
    MIDDLEWARE = [MIDDLEWARE[0], "yiwang.core.replica.ReplicaPinMiddleware", *MIDDLEWARE[1:]]
    DATABASE_ROUTERS = ["yiwang.core.replica.ReplicaRouter"]
# === end of branch scaleout's block ===========================================================

# Payments (docs/payments.md): the channel adapter and the channel's SM2 public key (hex ``04…``).
# Without a key, the simulator's ``<key file>.pub`` is read (``yiwang paysim`` writes it).
YIWANG_PAYMENTS = {
    "channel": env("YIWANG_PAYMENT_CHANNEL", "paysim"),
    "paysim_url": env("YIWANG_PAYSIM_URL", "http://127.0.0.1:8790"),
    "paysim_public_key": env("YIWANG_PAYSIM_PUBLIC_KEY", ""),
    "paysim_key_file": env("YIWANG_PAYSIM_KEY_FILE", str(VAR_DIR / "paysim.key")),
}
# Appointments and kiosks (docs/appointments.md).
YIWANG_APPOINTMENT_DAYS_AHEAD = env_int("YIWANG_APPOINTMENT_DAYS_AHEAD", 7)  # working days of slots
YIWANG_APPOINTMENT_NO_SHOW_LIMIT = env_int("YIWANG_APPOINTMENT_NO_SHOW_LIMIT", 3)  # 0: never limited
YIWANG_APPOINTMENT_NO_SHOW_DAYS = env_int("YIWANG_APPOINTMENT_NO_SHOW_DAYS", 90)
YIWANG_KIOSK_IDLE_SECONDS = env_int("YIWANG_KIOSK_IDLE_SECONDS", 120)
YIWANG_KIOSK_QR_SECONDS = env_int("YIWANG_KIOSK_QR_SECONDS", 120)
YIWANG_KIOSK_SMS_SECONDS = env_int("YIWANG_KIOSK_SMS_SECONDS", 300)

# === branch supervise2: mutual TLS of the exchange gateway (docs/exchange.md, "Mutual TLS") =====
# The TLS proxies (addresses or networks) that verify consuming systems' client certificates and
# pass the verified certificate on (URL-encoded PEM, nginx's $ssl_client_escaped_cert) with the
# verification result (nginx's $ssl_client_verify, "SUCCESS"); from any other address the two
# headers are ignored. Empty: no request carries a certificate.
YIWANG_EXCHANGE_TLS_PROXIES = env_list("YIWANG_EXCHANGE_TLS_PROXIES", "")
YIWANG_EXCHANGE_CLIENT_CERT_HEADER = env("YIWANG_EXCHANGE_CLIENT_CERT_HEADER", "X-SSL-Client-Cert")
YIWANG_EXCHANGE_CLIENT_VERIFY_HEADER = env("YIWANG_EXCHANGE_CLIENT_VERIFY_HEADER", "X-SSL-Client-Verify")
