"""The world the trust harness runs in: the demo city (``yiwang demo``, every app's demo data),
an API token for each actor, and one object of every kind owned by a known person.

Built once per run (``conftest.demo_world``) into a database of its own that each worker copies,
so nothing leaks into the other tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser

from yiwang.cases import services as case_services
from yiwang.cases.models import Case, CaseBundle, CaseMaterial, CaseState
from yiwang.catalog import selectors as catalog_selectors
from yiwang.demo.services import demo_extensions, demo_load
from yiwang.hotline.models import Ticket
from yiwang.identity.models import Role, User
from yiwang.identity.services import api_token_create
from yiwang.licenses.models import License, Presentation
from yiwang.licenses.services import PRESENTATION_MAX_MINUTES, presentation_create
from yiwang.licenses.subscribers import issue_for_case
from yiwang.messaging.models import Message

ANONYMOUS = "anonymous"
CITIZEN = "citizen"
ENTERPRISE_AGENT = "enterprise_agent"
SUPERUSER = "superuser"

# Every actor the harness asks with: anonymous, the two kinds of public account, each role of
# ``identity.models.Role`` and the superuser. The demo account that plays each one (roles in
# the 市场监督管理局, where the demo cases are).
ACTORS: dict[str, str | None] = {
    ANONYMOUS: None,
    CITIZEN: "citizen01",  # owns the delivered case, its license, messages, a draft, a presentation
    ENTERPRISE_AGENT: "ent01",
    Role.WINDOW_CLERK.value: "scjg_clerk",
    Role.REVIEWER.value: "scjg_reviewer1",
    Role.DEPARTMENT_HEAD.value: "scjg_head",
    Role.DEPARTMENT_ADMIN.value: "scjg_admin",
    Role.CITY_ADMIN.value: "city_admin",
    Role.AUDITOR.value: "auditor",
    SUPERUSER: "sysadmin",
}
ROLES = tuple(ACTORS)

# Outsiders for the object-scope test: each must get 404 for another's object and see nothing of it.
OUTSIDERS: dict[str, str | None] = {
    "anonymous": None,
    "another citizen": "citizen09",
    "another enterprise": "ent02",
    "another department (reviewer)": "gaj_reviewer1",
    "another department (head)": "gaj_head",
    "another department (clerk)": "gaj_clerk",
    "another county (reviewer)": "dyx_spj_reviewer",
    "another county (clerk)": "xlx_spj_clerk",
}


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str]  # username → bearer secret
    case: Case  # citizen01's delivered case (市场监管局): materials, notices, a license
    case_in_review: Case  # citizen04's, claimed by scjg_reviewer1
    case_waiting: Case  # citizen03's, waiting at the window
    material: CaseMaterial
    notice_kind: str
    draft: Case
    bundle: CaseBundle
    license: License
    presentation: Presentation
    message: Message
    staff_message: Message | None
    item_code: str
    life_event_code: str
    license_type_code: str
    objects: dict[str, object] = field(default_factory=dict)

    def actor(self, role: str):
        username = ACTORS.get(role, role)
        return AnonymousUser() if username is None else self.users[username]

    def user(self, username: str | None):
        return AnonymousUser() if username is None else self.users[username]

    def bearer(self, role: str) -> dict[str, str]:
        """Headers that sign in as ``role`` (an ``ACTORS`` key or a username) through the API."""
        username = ACTORS.get(role, role)
        return {} if username is None else {"Authorization": f"Bearer {self.tokens[username]}"}


def build_world() -> World:
    demo_load()
    for _app, module in demo_extensions():
        module.load(None)
    users = {u.username: u for u in User.objects.all()}
    wanted = {name for name in [*ACTORS.values(), *OUTSIDERS.values()] if name}
    tokens = {name: api_token_create(actor=users[name], user=users[name], name="trust harness")[1] for name in wanted}

    citizen = users["citizen01"]
    case = Case.objects.get(applicant=citizen, state=CaseState.DELIVERED)
    # The demo approves the case before its license types exist: issue as approval would have.
    license_ = License.objects.filter(source_case_id=case.pk).first() or issue_for_case(case.pk)
    item_code = case.item_version.item.implementation_code
    item = catalog_selectors.item_get_published(implementation_code=item_code)
    draft = case_services.case_draft_save(actor=citizen, item=item, form_data={"business_name": "草稿小店"})
    # The longest a presentation lives: the world is built once per run, and a slow run may ask
    # for it long after 10 minutes.
    presentation = presentation_create(
        actor=citizen, license=license_, minutes=PRESENTATION_MAX_MINUTES, purpose="trust harness"
    )
    staff_message = Message.objects.filter(recipient__kind=User.Kind.STAFF).order_by("pk").first()
    return World(
        users=users,
        tokens=tokens,
        case=case,
        case_in_review=Case.objects.get(applicant=users["citizen04"], state=CaseState.UNDER_REVIEW),
        case_waiting=Case.objects.get(applicant=users["citizen03"], state=CaseState.SUBMITTED),
        material=CaseMaterial.objects.filter(case=case).order_by("pk").first(),
        notice_kind="acceptance",
        draft=draft,
        bundle=CaseBundle.objects.order_by("pk").first(),
        license=license_,
        presentation=presentation,
        message=Message.objects.filter(recipient=citizen).order_by("pk").first(),
        staff_message=staff_message,
        item_code=item_code,
        life_event_code=CaseBundle.objects.order_by("pk").first().life_event_version.life_event.code,
        license_type_code=license_.license_type.code,
        objects={"hotline_ticket": Ticket.objects.get(external_id="demo-portal")},  # citizen01's, sent to 市场监管局
    )
