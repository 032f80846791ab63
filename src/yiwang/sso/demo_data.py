"""Demo single sign-on (loaded by ``yiwang demo`` after the city): the three separated admin
accounts of 三员分立 (system, security and audit admin; the demo password, TOTP enrolment at
first sign-in) and, registered by the security admin, one public relying party for
``examples/sso_rp.py`` on http://127.0.0.1:8765. Idempotent: existing accounts, grants and the
client are left as they are."""

from django.contrib.auth.hashers import make_password

CLIENT_NAME = "示范县中小学入学报名(示例接入系统)"
ADMINS = (
    ("sfs_sysadmin", "系统管理员(示例)", "system_admin"),
    ("sfs_secadmin", "安全管理员(示例)", "security_admin"),
    ("sfs_auditadmin", "安全审计员(示例)", "audit_admin"),
)


class Summary(dict):
    def summary(self) -> str:
        return (
            f"三员分立账号 {self['admins']} 个(新建);示例接入系统 client_id={self['client_id']}"
            "(python examples/sso_rp.py --issuer http://127.0.0.1:8000 --client-id …)"
        )


def load(actor=None):
    from oauth2_provider.models import Application

    from yiwang.demo.city import DEMO_PASSWORD
    from yiwang.identity.models import Department, RoleGrant, User
    from yiwang.identity.services import role_grant_create, user_create
    from yiwang.sso.services import client_register

    city = Department.objects.filter(code="SFS").first()
    if city is None:
        return Summary(admins=0, client_id="-")
    root = actor if actor is not None and actor.is_superuser else User.objects.filter(is_superuser=True).first()
    made = 0
    demo_hash = make_password(DEMO_PASSWORD)
    users = {}
    for username, name, role in ADMINS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                actor=root,
                username=username,
                password_hash=demo_hash,
                kind=User.Kind.STAFF,
                real_name=name,
                is_staff=True,
            )
            made += 1
        if not RoleGrant.objects.filter(user=user, role=role, department=city).exists():
            role_grant_create(actor=root, user=user, role=role, department=city)
        users[role] = user
    app = Application.objects.filter(name=CLIENT_NAME).first()
    if app is None:
        app, _secret = client_register(
            actor=users["security_admin"],
            name=CLIENT_NAME,
            confidential=False,
            redirect_uris="http://127.0.0.1:8765/callback",
            post_logout_redirect_uris="http://127.0.0.1:8765/",
            scopes=["openid", "profile", "phone", "enterprise"],
            pre_approved=True,
        )
    return Summary(admins=made, client_id=app.client_id)
