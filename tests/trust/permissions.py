"""The permission matrix: what every actor gets from every URL pattern and method.

One row per URL pattern (its resolver name, ``namespace:name``; a glob such as ``admin:*``
covers a whole namespace), giving for each HTTP method the outcome per actor of
``tests/trust/world.py: ACTORS``. ``tests/trust/test_permission_matrix.py`` asks every
(URL, method, actor) in the demo city and fails on any difference, and on any URL or API
method without a row. The machinery (deriving URLs, filling path parameters, classifying
answers) is ``tests/trust/matrix.py``; docs/security.md, "Permission matrix", explains it.

Outcomes (``matrix.py``): ``ok`` (the gate let the caller through), ``empty`` (API: 200 with an
empty list — a list scoped to the caller, who has nothing in it), ``404`` (missing, or not the
caller's: the two look the same), ``403``, ``login`` (page: redirect to sign-in; API: 401),
``admin_login`` (the admin site's sign-in redirect), ``405``.

The sample objects (``world.py``) are citizen01's: a delivered case of the 市场监督管理局 with its
material, notice, license and presentation, his draft and message. Staff actors hold their
roles in that department, so "their" objects are the case's.

HOW TO ADD A ROW (a new endpoint fails ``test_every_url_has_a_row`` until it has one):
1. Find your app's section below (``# --- <app> ---``), or add one at the end, in app order.
2. Write the key (``"myapp:detail"``; API operations are ``"api:<function name>"``) and per
   method an expectation built from the groups, e.g.
   ``"myapp:detail": row(GET=only(STAFF), POST=only(DEPT_ADMINS))``,
   ``"api:my_thing": row(GET=signed_in(EMPTY, citizen=OK))``. Pages list GET and POST (a page
   that refuses one says so: ``POST=refused()``).
3. A path parameter the defaults don't fill (``test_permission_matrix.parameters``): give it,
   ``row(..., kwargs={"code": "life_event_code"})`` (a name of that dict), or add it there.
   A body field the sample from the OpenAPI schema gets wrong (refused before the gate):
   ``row(..., json={"decision": "approve"})``.
4. Run ``YIWANG_MATRIX_ONLY='myapp:*' pytest tests/trust/test_permission_matrix.py``; a
   difference is either your row or a leak — if a caller gets more than they should, fix the
   selector/view, not the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.trust.matrix import ADMIN_LOGIN, EMPTY, FORBIDDEN, LOGIN, METHOD_NOT_ALLOWED, NOT_FOUND, OK
from tests.trust.world import ACTORS, ANONYMOUS, CITIZEN, ENTERPRISE_AGENT, SUPERUSER

# --- actors and groups --------------------------------------------------------------------------

CLERK, REVIEWER, HEAD = "window_clerk", "reviewer", "department_head"
DEPT_ADMIN, CITY_ADMIN, AUDITOR = "department_admin", "city_admin", "auditor"

PUBLIC_ACCOUNTS = (CITIZEN, ENTERPRISE_AGENT)
CASE_STAFF = (CLERK, REVIEWER, HEAD)  # handle cases in the 市场监督管理局
ADMINS = (DEPT_ADMIN, CITY_ADMIN)
STAFF = (*CASE_STAFF, *ADMINS, AUDITOR)
SIGNED_IN = (*PUBLIC_ACCOUNTS, *STAFF, SUPERUSER)
EVERYONE = (ANONYMOUS, *SIGNED_IN)
assert set(EVERYONE) == set(ACTORS), "a new actor in world.ACTORS needs a place in the groups above"

Expectation = dict[str, str]  # actor → outcome


def everyone(outcome: str = OK) -> Expectation:
    """The same for every actor, anonymous included (public pages, a 404 for all)."""
    return dict.fromkeys(EVERYONE, outcome)


def signed_in(outcome: str = OK, *, anonymous: str = LOGIN, **exceptions: str) -> Expectation:
    """Every signed-in actor gets ``outcome`` (``CITIZEN=OK`` etc. for exceptions); anonymous: sign in."""
    out = {ANONYMOUS: anonymous, **dict.fromkeys(SIGNED_IN, outcome)}
    return _with(out, exceptions)


def only(
    *allowed: str | tuple[str, ...], others: str = NOT_FOUND, anonymous: str = LOGIN, **exceptions: str
) -> Expectation:
    """``allowed`` (actors or groups; the superuser always) get ok, other signed-in actors
    ``others`` (404 by default: a forbidden object looks missing), anonymous ``anonymous``."""
    names = {SUPERUSER}
    for item in allowed:
        names.update((item,) if isinstance(item, str) else item)
    out = {ANONYMOUS: anonymous, **{actor: OK if actor in names else others for actor in SIGNED_IN}}
    return _with(out, exceptions)


def step(*allowed: str | tuple[str, ...], hidden_from: tuple[str, ...]) -> Expectation:
    """An action on an object: ``allowed`` get ok; who sees the object but holds another role
    403 (the service's role check); ``hidden_from`` (who cannot see it) 404, like a missing one."""
    return only(*allowed, others=FORBIDDEN, **dict.fromkeys(hidden_from, NOT_FOUND))


def refused(*, anonymous: str = METHOD_NOT_ALLOWED) -> Expectation:
    """The method is not answered (405); anonymous callers may be sent to sign in first."""
    return {ANONYMOUS: anonymous, **dict.fromkeys(SIGNED_IN, METHOD_NOT_ALLOWED)}


def _with(out: Expectation, exceptions: dict[str, str]) -> Expectation:
    unknown = set(exceptions) - set(out)
    assert not unknown, f"unknown actors {unknown}"
    return {**out, **exceptions}


def admin_site(outcome: str = ADMIN_LOGIN) -> Expectation:
    """The admin site (三员分立): only an account holding the system, security or audit admin role
    by a grant of its own passes its gate, and each role reaches only its own models. No actor of
    this matrix holds one — the superuser flag and ``is_staff`` alone open nothing — so every
    signed-in actor gets 403 and anonymous callers ``outcome`` (the site's sign-in). What each of
    the three roles reaches is tested in ``identity/tests/test_admin_reach.py``."""
    return {**dict.fromkeys(SIGNED_IN, FORBIDDEN), ANONYMOUS: outcome}


ADMIN_SITE = admin_site()
UNANSWERED = METHOD_NOT_ALLOWED


@dataclass(frozen=True)
class Row:
    expected: dict[str, Expectation]  # method → actor → outcome
    kwargs: dict[str, str] = field(default_factory=dict)  # path parameter → name in parameters()
    json: dict = field(default_factory=dict)  # API body fields over the schema's sample

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(self.expected)


def row(*, kwargs: dict[str, str] | None = None, json: dict | None = None, **methods: Expectation) -> Row:
    return Row(expected=methods, kwargs=kwargs or {}, json=json or {})


def page(view: Expectation, *, post: Expectation | None = None, kwargs: dict[str, str] | None = None) -> Row:
    """A page that answers GET and POST alike (``post`` when POST differs)."""
    return row(GET=view, POST=view if post is None else post, kwargs=kwargs)


def action(gate: Expectation, *, anonymous: str = LOGIN, kwargs: dict[str, str] | None = None) -> Row:
    """A POST-only page (a form's target): GET is refused (405)."""
    return row(GET=refused(anonymous=anonymous), POST=gate, kwargs=kwargs)


# Who cannot see citizen01's case (another applicant; the department admin, who runs no cases);
# for another citizen's case (WAITING, IN_REVIEW) citizen01 is an outsider too.
CASE_HIDDEN = (ENTERPRISE_AGENT, DEPT_ADMIN)
OTHERS_CASE_HIDDEN = (CITIZEN, *CASE_HIDDEN)
LICENSE_HIDDEN = PUBLIC_ACCOUNTS  # the license actions are staff-only: the holder gets 404 too

# Rows whose path or body needs a value other than the default (``test_permission_matrix.parameters``).
WAITING = {"case_id": "case_waiting"}  # citizen03's case, submitted, waiting at the window
IN_REVIEW = {"case_id": "case_in_review"}  # citizen04's case, claimed by the reviewer
LIFE_EVENT = {"code": "life_event_code"}

# fmt: off
TABLE: dict[str, Row] = {
    # --- cases ---
    # The applicant's own case (citizen) and its department's staff; the city admin runs no cases.
    # Any account may apply for itself (staff accounts included); the sample form is refused (422).
    "api:submit": row(POST=signed_in(), json={"item": "$implementation_code"}),
    "api:submit_with_materials": row(POST=signed_in()),  # 422 for all: the application is read before the item
    "api:my_cases": row(GET=signed_in(EMPTY, citizen=OK)),
    "api:progress": row(GET=everyone(NOT_FOUND)),  # number + code lookup; a wrong pair is a 404 for all
    "api:case_detail": row(GET=only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR)),
    "api:material_upload": row(POST=step(CITIZEN, CLERK, hidden_from=CASE_HIDDEN)),
    "api:material_download": row(GET=only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR)),
    "api:notice": row(GET=only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR)),
    "api:supplement_answer": row(POST=step(CITIZEN, CLERK, hidden_from=CASE_HIDDEN)),
    "api:withdraw": row(POST=signed_in(FORBIDDEN, citizen=OK, enterprise_agent=NOT_FOUND, department_admin=NOT_FOUND)),
    # 人工复核 of a 秒批 refusal: the applicant only (409 on the sample case, which no table refused).
    "api:human_review_request": row(
        POST=signed_in(FORBIDDEN, citizen=OK, enterprise_agent=NOT_FOUND, department_admin=NOT_FOUND)
    ),
    "api:drafts": row(GET=signed_in(EMPTY, citizen=OK)),
    "api:draft_create": row(POST=signed_in(), json={"item": "$implementation_code"}),
    "api:draft_detail": row(GET=signed_in(NOT_FOUND, citizen=OK)),
    "api:draft_update": row(PUT=signed_in(NOT_FOUND, citizen=OK)),
    "api:draft_delete": row(DELETE=signed_in(NOT_FOUND, citizen=OK)),
    "api:draft_submit": row(POST=signed_in(NOT_FOUND, citizen=OK)),
    "api:queue": row(GET=only(REVIEWER, HEAD, CITY_ADMIN, AUDITOR, others=EMPTY)),
    "api:intake": row(GET=only(CLERK, others=EMPTY)),
    # Taking in (受理): the window, or the department's reviewers and head.
    "api:accept": row(POST=step(CASE_STAFF, hidden_from=OTHERS_CASE_HIDDEN), kwargs=WAITING),
    "api:refuse": row(POST=step(CASE_STAFF, hidden_from=OTHERS_CASE_HIDDEN), kwargs=WAITING),
    "api:supplement": row(
        POST=step(CASE_STAFF, hidden_from=OTHERS_CASE_HIDDEN), kwargs=WAITING,
        json={"items": [{"material": "营业执照", "problem": "复印件不清晰"}]},
    ),
    "api:claim": row(POST=step(REVIEWER, hidden_from=OTHERS_CASE_HIDDEN), kwargs=IN_REVIEW),
    "api:assign": row(POST=step(HEAD, hidden_from=OTHERS_CASE_HIDDEN), kwargs=IN_REVIEW),
    "api:opinion": row(
        POST=step(REVIEWER, hidden_from=OTHERS_CASE_HIDDEN), kwargs=IN_REVIEW,
        json={"opinion": "材料齐全", "outcome": "agree"},
    ),
    "api:extend": row(
        POST=step(HEAD, hidden_from=OTHERS_CASE_HIDDEN), kwargs=IN_REVIEW, json={"days": 1, "reason": "需要现场核查"}
    ),
    # The item's decision roles (this item: the reviewer or the head).
    "api:decide": row(
        POST=step(REVIEWER, HEAD, hidden_from=OTHERS_CASE_HIDDEN), kwargs=IN_REVIEW, json={"decision": "approve"}
    ),
    "api:deliver": row(POST=step(CASE_STAFF, hidden_from=CASE_HIDDEN)),
    "api:bundle_submit": row(POST=signed_in(), json={"life_event": "$life_event_code"}),
    "api:bundle_list": row(GET=signed_in(EMPTY)),
    "api:bundle_submit_with_materials": row(POST=signed_in()),  # 422 for all: the application is read first
    "api:bundle_detail": row(GET=only()),  # the demo bundle is not citizen01's
    "cases:mine": page(signed_in()),
    "cases:progress": page(everyone()),
    "cases:apply": page(signed_in()),
    "cases:draft": page(signed_in(NOT_FOUND, citizen=OK)),
    "cases:draft_delete": action(signed_in(NOT_FOUND, citizen=OK)),
    # Pages of the applicant's case are shared with its department's staff (read); the
    # services refuse staff what only the applicant may do (a redirect with a message).
    "cases:detail": page(only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR)),
    "cases:upload": action(only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR)),
    "cases:material": page(only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR)),
    "cases:supplement_answer": action(only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR)),
    "cases:withdraw": action(only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR)),
    "cases:human_review": action(only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR)),
    "cases:notice": page(only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR)),
    "cases:bundle_apply": page(signed_in(), kwargs=LIFE_EVENT),
    "cases:bundle_detail": page(only()),
    "cases_workbench:index": page(only(STAFF)),
    "cases_workbench:window": page(only(CLERK)),
    "cases_workbench:window_register": action(only(CLERK)),
    "cases_workbench:window_activation": action(only(CLERK)),
    "cases_workbench:window_real_name": action(only(CLERK)),
    "cases_workbench:window_apply": page(only(CLERK)),
    "cases_workbench:window_hall": action(only(CLERK)),
    "cases_workbench:window_bundle_apply": page(only(CLERK), kwargs=LIFE_EVENT),
    "cases_workbench:window_bundle_detail": page(only()),
    "cases_workbench:detail": page(only(CASE_STAFF, CITY_ADMIN, AUDITOR)),
    "cases_workbench:action": action(only(CASE_STAFF, CITY_ADMIN, AUDITOR)),

    # --- catalog ---
    "api:item_list": row(GET=everyone()),
    "api:search": row(GET=everyone()),
    "api:item_detail": row(GET=everyone()),
    "api:item_version_detail": row(GET=everyone()),
    "api:life_event_list": row(GET=everyone()),
    "api:life_event_detail": row(GET=everyone(), kwargs=LIFE_EVENT),
    "api:import_schema": row(GET=everyone()),
    "api:template": row(GET=everyone()),
    # Catalog administration: the departments the caller administers (the 市场监管局's admin
    # and the city admin); a list is empty for everyone else, an item a 404.
    "api:admin_item_list": row(GET=only(ADMINS, others=EMPTY)),
    "api:admin_item_create": row(POST=signed_in()),  # 422 for all: the department is in the body, checked after it
    "api:admin_item_detail": row(GET=only(ADMINS)),
    "api:admin_item_update": row(PUT=only(ADMINS)),
    "api:admin_item_publish": row(POST=only(ADMINS)),
    "api:admin_item_retire": row(POST=only(ADMINS)),
    "api:admin_life_event_list": row(GET=only(CITY_ADMIN, others=EMPTY)),
    "api:admin_life_event_create": row(POST=signed_in()),  # 422 for all, as admin_item_create
    "api:admin_life_event_detail": row(GET=only(CITY_ADMIN), kwargs=LIFE_EVENT),
    "api:admin_life_event_update": row(PUT=only(CITY_ADMIN), kwargs=LIFE_EVENT),
    "api:admin_life_event_publish": row(POST=only(CITY_ADMIN), kwargs=LIFE_EVENT),
    "api:admin_life_event_retire": row(POST=only(CITY_ADMIN), kwargs=LIFE_EVENT),
    "api:admin_import": row(POST=signed_in()),  # 422 for all: each row's department is checked
    "api:admin_export": row(GET=signed_in()),  # a file of the caller's departments (empty for most)
    "services:index": page(everyone()),
    "services:suggest": page(everyone()),
    "services:item": page(everyone()),
    "services:life_event": page(everyone(), kwargs=LIFE_EVENT),
    "catalog:items": page(only(STAFF)),
    "catalog:import": page(only(STAFF)),
    "catalog:template": page(only(STAFF)),
    "catalog:export": page(only(STAFF)),
    "catalog:item_new": page(only(STAFF)),
    "catalog:item": page(only(ADMINS)),
    "catalog:item_edit": page(only(ADMINS)),
    "catalog:decision_table": page(only(ADMINS)),
    "catalog:item_publish": action(only(ADMINS)),
    "catalog:item_retire": action(only(ADMINS)),
    "catalog:life_event_new": page(only(STAFF)),
    "catalog:life_event_edit": page(only(CITY_ADMIN), kwargs=LIFE_EVENT),
    "catalog:life_event_publish": action(only(CITY_ADMIN), kwargs=LIFE_EVENT),
    "catalog:life_event_retire": action(only(CITY_ADMIN), kwargs=LIFE_EVENT),

    # --- core ---
    "api:openapi-json": row(GET=everyone(), POST=everyone()),
    "api:openapi-view": row(GET=everyone(), POST=everyone()),
    "api:api-root": row(GET=everyone(), POST=everyone()),
    "api:unknown-route": row(GET=everyone(), POST=everyone()),
    "api:health_view": row(GET=everyone()),
    "set_language": page(everyone()),

    # --- evaluation ---
    # citizen01 rated his case (the demo); the rectification is citizen02's 差评 in the 市场监管局.
    # Rating is the applicant's alone (the superuser too gets 404); staff of the department see
    # ratings, reviewers and heads act, heads and city admins decide an invalidation.
    "api:rate_case": row(POST=signed_in(NOT_FOUND, citizen=OK)),  # citizen01: 409 rating_exists
    "api:my_case_rating": row(GET=signed_in(NOT_FOUND, citizen=OK)),
    "api:my_ratings": row(GET=signed_in(EMPTY, citizen=OK)),
    "api:change_rating": row(PUT=signed_in(NOT_FOUND, citizen=OK)),
    "api:rerate": row(POST=signed_in(NOT_FOUND, citizen=OK)),  # 409 until a rectification is done
    "api:rating_list": row(GET=only(REVIEWER, HEAD, CITY_ADMIN, AUDITOR, others=EMPTY)),
    "api:rating_detail": row(GET=only(REVIEWER, HEAD, CITY_ADMIN, AUDITOR, CITIZEN)),
    "api:invalid_request": row(
        POST=step(REVIEWER, HEAD, hidden_from=(*PUBLIC_ACCOUNTS, CLERK, DEPT_ADMIN)), json={"reason": "恶意评价"}
    ),
    "api:invalid_decide": row(
        POST=step(HEAD, CITY_ADMIN, hidden_from=(*PUBLIC_ACCOUNTS, CLERK, DEPT_ADMIN)), json={"approve": True}
    ),
    "api:rectification_list": row(GET=only(REVIEWER, HEAD, CITY_ADMIN, AUDITOR, others=EMPTY)),
    "api:rectification_verify": row(
        POST=step(REVIEWER, HEAD, hidden_from=(*PUBLIC_ACCOUNTS, CLERK, DEPT_ADMIN)), json={"text": "核实"}
    ),
    "api:rectification_contact": row(
        POST=step(REVIEWER, HEAD, hidden_from=(*PUBLIC_ACCOUNTS, CLERK, DEPT_ADMIN)), json={"text": "沟通"}
    ),
    "api:rectification_complete": row(
        POST=step(REVIEWER, HEAD, hidden_from=(*PUBLIC_ACCOUNTS, CLERK, DEPT_ADMIN)), json={"text": "整改"}
    ),
    "api:stats": row(GET=signed_in()),  # scoped figures: rows of the caller's departments (none: [])
    "api:metrics": row(GET=signed_in()),
    "api:public_departments": row(GET=everyone()),
    "evaluation:rate": page(signed_in(NOT_FOUND, citizen=OK)),
    "evaluation:qr": page(everyone()),  # a signed link: on to the rating page (which is the applicant's)
    "evaluation:public": page(everyone()),
    "evaluation_workbench:index": page(only(REVIEWER, HEAD, CITY_ADMIN, AUDITOR)),
    "evaluation_workbench:rating": page(only(REVIEWER, HEAD, CITY_ADMIN, AUDITOR)),
    # The forms' target (action "invalid"): a refused step comes back as a message on the page.
    "evaluation_workbench:rating_action": action(
        only(REVIEWER, HEAD, CITY_ADMIN, AUDITOR), kwargs={"action": "rating_action"}
    ),
    "evaluation_workbench:export": page(only(REVIEWER, HEAD, CITY_ADMIN, AUDITOR)),
    "evaluation_workbench:metrics": page(only(REVIEWER, HEAD, CITY_ADMIN, AUDITOR)),
    "evaluation_workbench:case_qr": page(only(CASE_STAFF, CITY_ADMIN, AUDITOR)),
    # --- exchange ---
    "api:gateway_batch": row(POST=everyone(LOGIN)),  # systems only (client credentials), no user token
    "api:gateway_lookup_batch_word": row(GET=everyone(LOGIN)),
    "api:gateway_lookup": row(GET=everyone(LOGIN)),
    "api:gateway_request": row(POST=everyone(LOGIN)),
    "api:catalog": row(GET=everyone()),
    "api:catalog_update": row(PUT=only(ADMINS, others=FORBIDDEN)),
    "api:request_create": row(  # 404 for every caller with this body
        POST=signed_in(NOT_FOUND),
        json={"registry": "legal_entity", "fields": ["name"], "purpose": "核查", "legal_basis": "《条例》"},
    ),
    "api:request_list": row(GET=only(STAFF, others=EMPTY)),
    "api:request_approve": row(POST=only(city_admin=FORBIDDEN, auditor=FORBIDDEN)),
    "api:request_refuse": row(POST=only(city_admin=FORBIDDEN, auditor=FORBIDDEN), json={"reason": "用途不明确"}),
    "api:grant_list": row(GET=only(STAFF, others=EMPTY)),
    "api:grant_revoke": row(POST=only(city_admin=FORBIDDEN, auditor=FORBIDDEN), json={"reason": "不再需要"}),
    "api:system_list": row(GET=only(CITY_ADMIN, AUDITOR, others=EMPTY)),
    # A department head or admin registers the systems of their own department.
    "api:system_create": row(POST=only(HEAD, DEPT_ADMIN, others=FORBIDDEN), json={"department": "$department_id"}),
    "api:system_revoke": row(POST=only(city_admin=FORBIDDEN, auditor=FORBIDDEN)),
    # 数据使用记录: citizen01's records and ent01's enterprise are read by the platform's own apps
    # (免提交, 秒批, supervision, policies) in the demo.
    "api:usage": row(GET=signed_in(EMPTY, citizen=OK, enterprise_agent=OK)),
    # citizen01 disputes his own record; a department (here: the city admin's, the auditor's) may too.
    "api:dispute_create": row(
        POST=only(CITIZEN, CITY_ADMIN, AUDITOR),
        json={"registry": "population", "key": "$citizen_id_number", "field": "name", "reason": "姓名有误"},
    ),
    "api:dispute_list": row(GET=signed_in(EMPTY)),
    "api:dispute_correct": row(POST=signed_in(NOT_FOUND)),
    "api:dispute_reject": row(POST=signed_in(NOT_FOUND)),
    "exchange_portal:catalog": page(everyone()),
    "exchange_portal:usage": page(only(PUBLIC_ACCOUNTS, superuser=NOT_FOUND)),
    "exchange_workbench:home": page(only(STAFF)),
    "exchange_workbench:request_new": page(only(STAFF)),
    "exchange_workbench:request": row(GET=only(CITY_ADMIN, AUDITOR), POST=signed_in(NOT_FOUND)),
    "exchange_workbench:grant_revoke": action(only(STAFF)),
    "exchange_workbench:system_create": action(only(STAFF)),
    "exchange_workbench:system_revoke": action(only(STAFF)),
    "exchange_workbench:dispute": page(signed_in(NOT_FOUND)),
    # Mutual TLS (branch supervise2): binding a credential to a client certificate, as revoking it.
    "api:system_certificate": row(POST=only(city_admin=FORBIDDEN, auditor=FORBIDDEN)),
    "exchange_workbench:system_certificate": action(only(STAFF)),

    # --- hotline (citizen01's ticket, dispatched to the 市场监管局; hotline roles are hotline.Member,
    # held by none of the actors but the superuser) ---
    "api:ticket_create": row(POST=signed_in(), json={"channel": "api", "kind": "help", "content": "矩阵测试"}),
    "api:ticket_list": row(GET=signed_in(enterprise_agent=EMPTY)),
    "api:ticket_get": row(GET=signed_in(enterprise_agent=NOT_FOUND)),
    "api:ticket_dispatch": row(POST=step(hidden_from=(ENTERPRISE_AGENT,)), json={"department": ""}),
    "api:ticket_accept": row(POST=only(CASE_STAFF, DEPT_ADMIN)),
    "api:ticket_return": row(POST=only(CASE_STAFF, DEPT_ADMIN), json={"reason": "不属于本部门职责"}),
    "api:ticket_return_decide": row(POST=step(hidden_from=(ENTERPRISE_AGENT,)), json={"accept": True}),
    "api:ticket_reply": row(POST=only(CASE_STAFF, DEPT_ADMIN), json={"reply": "已经处理完毕"}),
    "api:ticket_visit": row(POST=step(hidden_from=(ENTERPRISE_AGENT,)), json={"satisfaction": 3, "resolved": True}),
    "api:knowledge_search": row(GET=signed_in(EMPTY)),
    "api:sensor_reading": row(POST=only(ADMINS, others=FORBIDDEN)),
    "hotline:home": page(only(STAFF)),
    "hotline:intake": page(only()),  # hotline agents
    "hotline:grid_report": page(only()),  # grid workers
    "hotline:knowledge_search": page(only(STAFF)),
    "hotline:knowledge": page(only(STAFF)),
    "hotline:rules": page(only()),  # dispatchers
    "hotline:hotspots": row(GET=only(STAFF), POST=signed_in(NOT_FOUND)),  # no hotspot 0
    "hotline:ranking": page(only(STAFF)),
    "hotline:ranking_xlsx": page(only(STAFF)),
    "hotline:map": page(only(STAFF)),
    "hotline:queue": page(only(STAFF)),
    "hotline:detail": page(only(STAFF)),
    "hotline:action": action(only(CASE_STAFF, DEPT_ADMIN)),  # reply: the lead department's handlers
    "hotline_portal:index": page(signed_in()),
    "hotline_portal:mine": page(signed_in()),
    "hotline_portal:track": row(GET=everyone(), POST=everyone(NOT_FOUND)),  # nothing found for no number
    "hotline_portal:detail": page(only(CITIZEN, superuser=NOT_FOUND)),  # the filer's own page only
    # hotline, wave 2: rule and knowledge editing, grids (map, GeoJSON import, patrols), rating
    "hotline:rule_new": page(only()),  # dispatchers
    "hotline:rule_edit": page(only()),  # dispatchers
    "hotline:knowledge_new": page(only(STAFF)),  # the department is checked on save
    "hotline:knowledge_edit": page(only()),  # the demo's first entry is the 大数据局's: its staff, the centre
    "hotline:grid_map": page(only(STAFF)),
    "hotline:grid_import": page(only(CITY_ADMIN)),  # city admins and the centre's supervisors
    "hotline:patrols": row(GET=only(CITY_ADMIN), POST=only()),  # grid workers start; grid managers read
    "hotline:patrol": page(only(CITY_ADMIN)),  # the demo's patrol (grid_worker1's)
    "hotline:patrol_action": row(GET=signed_in(NOT_FOUND), POST=signed_in(NOT_FOUND)),  # "reply" is no action
    "hotline_portal:rate": action(only(CITIZEN, superuser=NOT_FOUND)),  # the filer only
    "open311:discovery": row(GET=everyone(), POST=everyone(METHOD_NOT_ALLOWED)),
    "open311:services": row(GET=everyone(), POST=everyone(METHOD_NOT_ALLOWED)),
    "open311:service": row(GET=everyone(), POST=everyone(METHOD_NOT_ALLOWED)),
    "open311:requests": row(GET=everyone(), POST=everyone()),  # POST checks api_key itself (spec errors)
    "open311:request": row(GET=everyone(), POST=everyone(METHOD_NOT_ALLOWED)),

    # --- identity ---
    "api:me": row(GET=signed_in()),
    "api:sign_out_everywhere": row(POST=signed_in()),
    "api:my_departments": row(GET=signed_in()),
    "api:departments": row(GET=everyone()),
    "api:department_detail": row(GET=everyone()),
    "identity:login": page(everyone()),
    "identity:logout": page(everyone()),
    "identity:sign_out_everywhere": row(GET=signed_in(), POST=everyone(LOGIN)),  # POST signs out: back to sign-in
    "identity:password_change": page(signed_in()),
    "identity:activate": page(everyone()),
    "identity:tokens": page(signed_in()),
    "identity:mfa_verify": page(signed_in()),
    "identity:mfa_setup": page(signed_in()),
    "identity:mfa_disable": action(signed_in(), anonymous=METHOD_NOT_ALLOWED),
    "identity:real_name": page(signed_in()),

    # --- licenses ---
    "api:verify": row(GET=everyone()),
    "api:presentation_open": row(GET=everyone(), kwargs={"code": "presentation_code"}),
    "api:mine": row(GET=signed_in(EMPTY, citizen=OK)),
    "api:mine_pdf": row(GET=signed_in(NOT_FOUND, citizen=OK)),
    "api:my_presentations": row(GET=signed_in(EMPTY, citizen=OK)),
    "api:presentation_create": row(POST=signed_in(NOT_FOUND, citizen=OK)),
    "api:presentation_revoke": row(POST=signed_in(NOT_FOUND, citizen=OK)),
    "api:issue": row(POST=signed_in(NOT_FOUND)),  # the sample case id names no approved case
    "api:revoke": row(POST=step(REVIEWER, HEAD, DEPT_ADMIN, hidden_from=LICENSE_HIDDEN)),
    "api:suspend": row(POST=step(REVIEWER, HEAD, DEPT_ADMIN, hidden_from=LICENSE_HIDDEN)),
    "api:reinstate": row(POST=step(REVIEWER, HEAD, DEPT_ADMIN, hidden_from=LICENSE_HIDDEN)),
    "licenses:verify_form": page(everyone()),
    "licenses:present": page(everyone(), kwargs={"code": "presentation_code"}),
    "licenses:verify": page(everyone()),
    "licenses:wallet": page(signed_in()),
    "licenses:wallet_pdf": page(signed_in(NOT_FOUND, citizen=OK)),
    "licenses:wallet_license": page(signed_in(NOT_FOUND, citizen=OK)),
    "licenses:wallet_present": action(signed_in(NOT_FOUND, citizen=OK)),
    "licenses:presentation": page(signed_in(NOT_FOUND, citizen=OK)),
    "licenses:presentation_revoke": action(signed_in(NOT_FOUND, citizen=OK)),
    "licenses_workbench:list": page(only(STAFF)),
    "licenses_workbench:import": page(only(STAFF)),
    "licenses_workbench:template": page(only(STAFF), kwargs={"code": "license_type_code"}),
    "licenses_workbench:detail": page(only(STAFF)),
    # A refusal is a redirect with the message (api:suspend pins the roles).
    "licenses_workbench:action": action(only(STAFF), kwargs={"action": "license_action"}),

    # --- messaging ---
    # Whoever the demo wrote to sees their own: the evaluation's demo notifies the reviewer; the
    # superuser approves the cases app's exchange grants (免提交, 秒批).
    "api:message_list": row(
        GET=signed_in(
            EMPTY,
            citizen=OK,
            enterprise_agent=OK,
            window_clerk=OK,  # the demo work instruction (messaging, staff) reaches the 市场监管局 clerk too
            reviewer=OK,
            department_head=OK,
            department_admin=OK,
            city_admin=OK,  # the city's demo sends it notices too (oversight, dashboards, documents)
            superuser=OK,
        )
    ),
    "api:preferences_get": row(GET=signed_in()),
    "api:preferences_put": row(PUT=signed_in()),
    "api:message_read_all": row(POST=signed_in()),
    "api:message_read": row(POST=signed_in(NOT_FOUND, citizen=OK)),
    "messaging:inbox": page(signed_in()),
    "messaging:preferences": page(signed_in()),
    "messaging:read_all": action(signed_in()),
    "messaging:read": action(signed_in(NOT_FOUND, citizen=OK)),
    "messaging_workbench:inbox": page(only(STAFF)),
    "messaging_workbench:preferences": page(only(STAFF)),
    "messaging_workbench:read_all": action(only(STAFF)),
    "messaging_workbench:read": action(signed_in(NOT_FOUND)),  # citizen01's message: no one's at the workbench

    # --- portal ---
    "portal:home": page(everyone()),
    "portal:account": page(signed_in()),
    "portal:elder_mode": action(everyone(), anonymous=METHOD_NOT_ALLOWED),
    "portal:after_login": page(signed_in()),  # a redirect: staff to the workbench, others to /account/
    "portal:check_code": row(GET=everyone(), POST=refused(), kwargs={"kind": "code_check"}),

    # --- registries ---
    # The 法人库 is sourced by the 市场监管局: its staff (the source roles) and the auditor read it.
    "api:fields": row(GET=signed_in()),  # the field catalog, like the public 资源目录
    "api:quality": row(GET=signed_in(EMPTY)),
    # Writes: the source roles (the per-field source rule then names what they may not change).
    "api:records_upsert": row(POST=only(CASE_STAFF, DEPT_ADMIN, AUDITOR)),
    "api:records_import": row(POST=only(CASE_STAFF, DEPT_ADMIN, AUDITOR)),
    "api:record_lookup": row(POST=only(CASE_STAFF, DEPT_ADMIN, AUDITOR)),
    "api:record_history": row(GET=only(CASE_STAFF, DEPT_ADMIN, AUDITOR)),
    "registries:index": page(only(STAFF)),
    "registries:quality": page(only(STAFF)),
    "registries:list": page(only(CASE_STAFF, DEPT_ADMIN, AUDITOR)),
    "registries:import": page(only(CASE_STAFF, DEPT_ADMIN, AUDITOR)),
    "registries:template": page(only(CASE_STAFF, DEPT_ADMIN, AUDITOR)),
    "registries:detail": page(only(CASE_STAFF, DEPT_ADMIN, AUDITOR)),

    # --- sso ---
    # Relying parties are registered by the security admin alone (三员分立): no actor of the
    # matrix holds that role, and the superuser flag is no way around it.
    "sso:client_list": page(only(superuser=NOT_FOUND)),
    "sso:client_new": page(only(superuser=NOT_FOUND)),
    "sso:client_edit": page(only(superuser=NOT_FOUND)),
    # The OpenID Connect endpoints: public documents, and protocol endpoints that answer their
    # own errors (400/401 as the specs say) to whoever calls; authorize needs a signed-in user.
    "oauth2_provider:oidc-connect-discovery-info": row(GET=everyone(), POST=refused()),
    "oauth2_provider:jwks-info": row(GET=everyone(), POST=refused()),
    "oauth2_provider:authorize": page(signed_in()),
    "oauth2_provider:token": row(GET=refused(), POST=everyone()),
    "oauth2_provider:revoke-token": row(GET=refused(), POST=everyone()),
    "oauth2_provider:introspect": row(GET=everyone(FORBIDDEN), POST=everyone(FORBIDDEN)),  # a client's credentials
    "oauth2_provider:user-info": row(GET=everyone(LOGIN), POST=everyone(LOGIN)),  # an access token (401 Bearer)
    "oauth2_provider:rp-initiated-logout": page(everyone()),
    # --- opendata (CKAN API: a platform bearer token is not an open-data key, so signed-in callers get 403) ---
    "opendata:ckan_action3": row(GET=everyone(FORBIDDEN) | {ANONYMOUS: OK}, POST=everyone(FORBIDDEN) | {ANONYMOUS: OK},
                                 kwargs={"name": "ckan_action"}),
    "opendata:ckan_action": row(GET=everyone(FORBIDDEN) | {ANONYMOUS: OK}, POST=everyone(FORBIDDEN) | {ANONYMOUS: OK},
                                kwargs={"name": "ckan_action"}),
    "opendata:catalogue": row(GET=everyone(), POST=refused(), kwargs={"kind": "catalogue_kind"}),
    "opendata:search": row(GET=everyone(), POST=refused()),
    "opendata:dataset": row(GET=everyone(), POST=refused(), kwargs={"name": "dataset_name"}),
    "opendata:apply": action(signed_in(), kwargs={"name": "dataset_name"}),
    "opendata:comment": action(signed_in(), kwargs={"name": "dataset_name"}),
    "opendata:download": row(GET=everyone(), POST=refused(), kwargs={"id": "distribution_id"}),
    "opendata:my": page(signed_in()),
    "opendata:workbench": row(GET=signed_in(), POST=refused(anonymous=LOGIN)),
    "opendata:application_decide": action(only(CITY_ADMIN), kwargs={"id": "od_application_id"}),
    "opendata:comment_moderate": action(only(CITY_ADMIN), kwargs={"id": "od_comment_id"}),

    # --- policies ---
    "policies:library": row(GET=everyone(), POST=refused()),
    "policies:workbench": row(GET=signed_in(), POST=refused(anonymous=LOGIN)),
    "policies:award_review": action(only(STAFF), kwargs={"id": "award_id"}),
    "policies:benefit_confirm": action(only(STAFF), kwargs={"id": "policy_benefit_id"}),
    "policies:batch_file": row(GET=signed_in(NOT_FOUND), POST=refused(anonymous=LOGIN), kwargs={"id": "number"}),
    "policies:batch_import": action(signed_in(NOT_FOUND), kwargs={"id": "number"}),
    # The rule editor and publication: the issuing department's staff; objections answered there.
    "policies:benefit_rules": page(only(STAFF), kwargs={"id": "policy_benefit_id"}),
    "policies:policy_publish": action(only(STAFF), kwargs={"id": "policy_id"}),
    "policies:objection_answer": action(signed_in(NOT_FOUND), kwargs={"id": "number"}),
    # 即申即享 and objections: any signed-in account reaches the form's target; the service
    # answers a non-enterprise (or a benefit not 即申即享) with a message on the library page.
    "policies:benefit_apply": action(signed_in(), kwargs={"id": "policy_benefit_id"}),
    "policies:objection_raise": action(signed_in(), kwargs={"id": "policy_benefit_id"}),

    # --- workbench ---
    "workbench:home": page(only(STAFF)),
    "workbench:health": page(only(CITY_ADMIN)),

    # --- admin (the site's own pages; the models' pages are in ADMIN_MODELS below) ---
    "admin:index": page(ADMIN_SITE),
    "admin:app_list": page(ADMIN_SITE),  # the identity app's page
    "admin:login": page({**everyone(FORBIDDEN), ANONYMOUS: LOGIN}),  # our sign-in page; signed in: 403
    "admin:logout": row(GET=admin_site(OK), POST=admin_site(OK)),  # anonymous: sent to the index
    "admin:password_change": page(ADMIN_SITE),  # a redirect to identity:password_change (audited)
    "admin:password_change_done": page(ADMIN_SITE),
    "admin:jsi18n": row(GET=ADMIN_SITE, POST=ADMIN_SITE),
    "admin:autocomplete": row(GET=ADMIN_SITE, POST=ADMIN_SITE),
    "admin:view_on_site": page(ADMIN_SITE),  # no such object's page
    "admin/(?P<url>.*)$": page(ADMIN_SITE),  # the catch-all
    "admin/*": page(ADMIN_SITE),  # an object's old URL: a redirect to its change page
}
# fmt: on

# --- supervision -------------------------------------------------------------------------------
# Public (一公开): lists, plans and their files, results, the rule, published 亩均 lists. The demo's
# inspectors of the 市场监管局 are its clerk, reviewers and head; the sample task is
# scjg_reviewer1's. Grades: the entity's own agent, the credit department and auditors.
PLAN = {"code": "plan_code"}
INSPECTOR_TASK = only(REVIEWER, **{SUPERUSER: NOT_FOUND})  # the superuser is on no team
SUPERVISION_ROWS = {
    "api:items": row(GET=everyone()),
    "api:plans": row(GET=everyone()),
    "api:plan_create": row(POST=signed_in()),  # the sample body names no department: 422 past the gate
    "api:plan_detail": row(GET=everyone(), kwargs=PLAN),
    "api:plan_file": row(GET=everyone(), kwargs=PLAN),
    "api:result_file": row(GET=everyone(), kwargs=PLAN),
    "api:results": row(GET=everyone()),
    "api:credit_rule": row(GET=everyone()),
    "api:plan_draw": row(POST=only(HEAD, DEPT_ADMIN, others=FORBIDDEN), kwargs=PLAN),  # drawn: 409
    "api:my_tasks": row(GET=signed_in(EMPTY, window_clerk=OK, reviewer=OK, department_head=OK)),
    "api:my_task": row(GET=INSPECTOR_TASK),
    "api:record": row(POST=INSPECTOR_TASK),
    "api:publish": row(POST=INSPECTOR_TASK),
    "api:grade": row(GET=only(ENTERPRISE_AGENT, AUDITOR)),
    "api:mu_published": row(GET=everyone()),
    "api:mu_run": row(POST=only(others=FORBIDDEN)),  # the 经济 registry's source (税务局) only
    "api:mu_publish": row(POST=only(others=FORBIDDEN)),
    "api:repairs": row(GET=signed_in(EMPTY)),
    "api:repair_apply": row(POST=signed_in(NOT_FOUND)),  # the sample USCC is nobody's enterprise
    "api:repair_decide": row(POST=signed_in(NOT_FOUND)),
    # 执法资格 (branch supervise2): the 市场监管局's head and admin manage its inspectors; the sample
    # body names its first demo inspector with a kind that does not exist (422 past the gate).
    "api:inspector_list": row(GET=only(HEAD, DEPT_ADMIN, others=EMPTY)),
    "api:qualification_add": row(
        POST=only(HEAD, DEPT_ADMIN),
        json={
            "inspector": "61SCJG0001",
            "kind": "no_such_kind",
            "certificate_number": "MATRIX-1",
            "valid_from": "2026-01-01",
            "valid_to": "2027-01-01",
        },
    ),
    "api:qualification_revoke": row(POST=signed_in(NOT_FOUND), json={"qualification": 0, "reason": "矩阵"}),
    # The 执法资格 pages (branch channels7): the 市场监管局's head and admin keep its inspectors' —
    # the demo's first inspector and his first qualification; a bad form is a 422 past the gate.
    "supervision_workbench:inspectors": row(GET=only(HEAD, DEPT_ADMIN), POST=refused(anonymous=LOGIN)),
    "supervision_workbench:qualification_new": page(
        only(HEAD, DEPT_ADMIN), kwargs={"certificate_number": "supervision_inspector"}
    ),
    "supervision_workbench:qualification_edit": page(
        only(HEAD, DEPT_ADMIN), kwargs={"qualification_id": "supervision_qualification"}
    ),
    "supervision_workbench:qualification_end": action(
        only(HEAD, DEPT_ADMIN), kwargs={"qualification_id": "supervision_qualification"}
    ),
    "supervision:index": page(everyone()),
    "supervision:plan_new": page(only(HEAD, DEPT_ADMIN)),
    "supervision:plan": page(everyone(), kwargs=PLAN),
    "supervision:plan_draw": action(only(HEAD, DEPT_ADMIN), kwargs=PLAN),
    "supervision:plan_file": page(everyone(), kwargs=PLAN),
    "supervision:result_file": page(everyone(), kwargs=PLAN),
    "supervision:verify": page(everyone()),
    "supervision:results": page(everyone()),
    "supervision:rule": page(everyone()),
    "supervision:grade": page(only(ENTERPRISE_AGENT, AUDITOR)),
    "supervision:repair_apply": action(signed_in(NOT_FOUND, **{ENTERPRISE_AGENT: OK})),  # own grade: 422, no reason
    "supervision:mu": page(everyone()),
    "supervision:mu_xlsx": page(everyone()),
    "supervision_workbench:tasks": page(signed_in()),
    "supervision_workbench:task": page(INSPECTOR_TASK),
}
TABLE.update(SUPERVISION_ROWS)

# --- channels ---
# Postal delivery: the sample is citizen04's (under review at the 市场监管局; the demo chose post for
# it); choosing post is the applicant's or the serving window's, dispatching the window's or the
# department's. 异地代收: the demo's forwards are 东原县's cases taken in at 西岭县, which the
# 市场监管局's staff do not see. The courier's webhook is signed: 403 for every unsigned caller.
POSTAL = {"delivery_id": "delivery_id"}
FORWARD = {"forward_id": "forward_id"}
POSTAL_STAFF = step(CASE_STAFF, hidden_from=(CITIZEN, ENTERPRISE_AGENT, DEPT_ADMIN))
CHANNELS_ROWS = {
    "api:postal_request": row(POST=step(CITIZEN, CLERK, hidden_from=CASE_HIDDEN)),  # delivered: 409
    "api:postal_of_case": row(GET=only(CASE_STAFF, CITY_ADMIN, AUDITOR), kwargs=IN_REVIEW),
    "api:postal_dispatch": row(POST=POSTAL_STAFF, kwargs=POSTAL),  # not decided yet: 409
    "api:postal_refresh": row(POST=POSTAL_STAFF, kwargs=POSTAL),  # not dispatched: 409
    "api:courier_callback": row(POST=everyone(FORBIDDEN), kwargs={"courier": "courier"}),
    "api:forward_create": row(
        POST=step(CLERK, hidden_from=CASE_HIDDEN), json={"identity_checked": True, "materials_checked": True}
    ),  # an online case: 422 not_window_case
    "api:forward_list": row(GET=signed_in(EMPTY, city_admin=OK, auditor=OK, superuser=OK)),
    "api:forward_receive": row(POST=only(city_admin=FORBIDDEN, auditor=FORBIDDEN), kwargs=FORWARD),
    # Between installations: A's window clerks forward (no peer in the demo: 422 region_unknown);
    # a forward is its sender's alone. B's inbound endpoints answer only the exchange credential.
    "api:remote_forward_send": row(
        POST=only(CLERK, others=FORBIDDEN, **{SUPERUSER: FORBIDDEN}),
        json={"region_code": "110101", "item_code": "X", "idempotency_key": "k"},
    ),
    "api:remote_forward_refresh": row(POST=signed_in(NOT_FOUND), kwargs={"forward_id": "number"}),
    "api:inbound_forward": row(POST=everyone(LOGIN)),
    "api:inbound_forward_status": row(GET=everyone(LOGIN), kwargs={"number": "number"}),
    "channels:postal": page(
        only(CASE_STAFF, CITIZEN, CITY_ADMIN, AUDITOR), post=step(CITIZEN, CLERK, hidden_from=CASE_HIDDEN)
    ),
    "channels_workbench:index": page(only(STAFF)),
    "channels_workbench:forward": page(
        only(CASE_STAFF, CITY_ADMIN, AUDITOR),
        post=only(CLERK, **dict.fromkeys((REVIEWER, HEAD, CITY_ADMIN, AUDITOR), FORBIDDEN)),
    ),
    "channels_workbench:forward_receive": action(only(CITY_ADMIN, AUDITOR), kwargs=FORWARD),  # refused: a message
    "channels_workbench:dispatch": action(only(CASE_STAFF, CITY_ADMIN, AUDITOR), kwargs=POSTAL),
    "channels_workbench:refresh": action(only(CASE_STAFF, CITY_ADMIN, AUDITOR), kwargs=POSTAL),
    # Other installations: the system administrator's pages (the demo registers none: 404 for the
    # sample id). The handling installation's result call-back answers only its exchange credential.
    "channels_workbench:peers": page(only()),
    "channels_workbench:peer_new": page(only()),  # an empty form: 422 past the gate
    "channels_workbench:peer_edit": page(signed_in(NOT_FOUND), kwargs={"peer_id": "number"}),
    "api:inbound_result": row(POST=everyone(LOGIN)),
}
TABLE.update(CHANNELS_ROWS)


# --- documents ---------------------------------------------------------------------------------
# The demo's issued notice of the 市场监管局 (drafted by scjg_clerk; reviewed, signed off and issued
# by its reviewer, head and admin; sent to 公安局, 大数据局, 民政局) and the routing notice's pending
# countersign step (the 大数据局 head's). Outside the route and the recipients: 404. Rosters: staff.
DOC = {"document_id": "documents_document"}
DOC_STEP = {"step_id": "documents_step"}
ON_ROUTE = (*CASE_STAFF, DEPT_ADMIN)
OFF_ROUTE = (CITY_ADMIN, AUDITOR, *PUBLIC_ACCOUNTS)
STAFF_OK = signed_in(EMPTY, **dict.fromkeys((*STAFF, SUPERUSER), OK))
DOCUMENTS_ROWS = {
    "api:document_types": row(GET=STAFF_OK),
    "api:document_type_save": row(POST=only(CITY_ADMIN, others=FORBIDDEN)),  # city-wide type: the sample is 422
    "api:document_list": row(GET=signed_in(EMPTY, **dict.fromkeys((*ON_ROUTE, SUPERUSER), OK))),
    "api:document_todo": row(GET=signed_in(EMPTY, superuser=OK)),  # only the 大数据局 head has a step
    "api:document_create": row(
        POST=only(ON_ROUTE), json={"department": "SFS-SCJG", "document_type": "notice", "recipient_departments": []}
    ),
    "api:document_detail": row(GET=only(ON_ROUTE), kwargs=DOC),
    "api:document_update": row(
        PUT={**step(CLERK, hidden_from=OFF_ROUTE), SUPERUSER: FORBIDDEN}, kwargs=DOC, json={"recipient_departments": []}
    ),  # the drafter: 409, issued
    "api:document_submit": row(POST={**step(CLERK, hidden_from=OFF_ROUTE), SUPERUSER: FORBIDDEN}, kwargs=DOC),
    "api:document_step_approve": row(POST=step(hidden_from=OFF_ROUTE), kwargs=DOC_STEP),
    "api:document_step_return": row(POST=step(hidden_from=OFF_ROUTE), kwargs=DOC_STEP),
    "api:document_pdf": row(GET=only(ON_ROUTE), kwargs=DOC),
    "api:document_receipts": row(GET=only(ON_ROUTE), kwargs=DOC),
    "api:document_acknowledge": row(POST={**step(hidden_from=OFF_ROUTE), SUPERUSER: FORBIDDEN}, kwargs=DOC),  # senders
    "api:document_remind": row(POST=step(CLERK, HEAD, DEPT_ADMIN, hidden_from=OFF_ROUTE), kwargs=DOC),
    "api:duty_now": row(GET=STAFF_OK),
    "api:duty_shifts": row(GET=signed_in()),  # the sample department code is unknown: 422
    "api:duty_shift_create": row(
        POST=only(HEAD, DEPT_ADMIN, CITY_ADMIN, others=FORBIDDEN, citizen=NOT_FOUND, enterprise_agent=NOT_FOUND),
        json={"department": "SFS-SCJG", "person": "$documents_person"},
    ),
    "api:duty_swaps": row(GET=signed_in(EMPTY, window_clerk=OK, reviewer=OK)),
    "api:duty_swap_request": row(
        POST={**step(REVIEWER, hidden_from=PUBLIC_ACCOUNTS), SUPERUSER: FORBIDDEN},
        kwargs={"shift_id": "documents_shift"},
        json={"to_user": "$documents_to_user"},
    ),
    "api:duty_swap_decide": row(
        POST=only(CLERK, superuser=NOT_FOUND, reviewer=FORBIDDEN), kwargs={"swap_id": "documents_swap"}
    ),
    "documents:index": page(only(STAFF)),
    "documents:new": page(only(STAFF)),
    "documents:detail": page(only(ON_ROUTE), kwargs=DOC),
    "documents:pdf": page(only(ON_ROUTE), kwargs=DOC),
    "documents:action": action(only(ON_ROUTE), kwargs={**DOC, "action": "documents_action"}),
    "documents:types": page(only(STAFF)),
    "documents:type_edit": page(only(DEPT_ADMIN, CITY_ADMIN)),  # the sample's empty form: 422, past the gate
    "documents:duty": page(only(STAFF)),
    "documents:shift_new": action(only(STAFF)),
    "documents:swap": action(only(STAFF), kwargs={"shift_id": "documents_shift"}),
    "documents:swap_decide": action(
        only(CLERK, REVIEWER, superuser=NOT_FOUND), kwargs={"swap_id": "documents_swap"}
    ),  # the asker: 403 shown on the roster page
}
TABLE.update(DOCUMENTS_ROWS)
# --- oversight -----------------------------------------------------------------------------------
# The sample task is the demo's 市场监管局-led yellow task with a submitted report and its evidence.
# The 督查室 and the city leader are oversight.Member rows none of the actors holds (the superuser
# acts as the office); the city admin and the auditor hold no department role that sees tasks.
# Reporting is for the lead department's reviewers, head and admin: the clerk and the superuser 403.
OVERSIGHT_HIDDEN = (CITIZEN, ENTERPRISE_AGENT, CITY_ADMIN, AUDITOR)
OVERSIGHT_SEES = (*CASE_STAFF, DEPT_ADMIN)
OVERSIGHT_REPORT = only(
    REVIEWER, HEAD, DEPT_ADMIN, others=FORBIDDEN, **dict.fromkeys(OVERSIGHT_HIDDEN, NOT_FOUND), **{SUPERUSER: FORBIDDEN}
)
OVERSIGHT_OFFICE = step(hidden_from=OVERSIGHT_HIDDEN)
OVERSIGHT_ROWS = {
    "api:oversight_tasks": row(
        GET=signed_in(EMPTY, **dict.fromkeys((CLERK, REVIEWER, HEAD, DEPT_ADMIN, SUPERUSER), OK))
    ),
    "api:oversight_light_counts": row(GET=signed_in()),
    "api:oversight_task": row(GET=only(OVERSIGHT_SEES)),
    "api:oversight_task_create": row(POST=only(others=FORBIDDEN)),  # the sample names no department: 422
    "api:oversight_milestone_add": row(POST=OVERSIGHT_OFFICE),
    "api:oversight_report_submit": row(POST=OVERSIGHT_REPORT),  # the sample file is no PDF: 422
    "api:oversight_report_review": row(POST=OVERSIGHT_OFFICE, json={"accept": False, "note": ""}),  # 422
    "api:oversight_task_urge": row(POST=OVERSIGHT_OFFICE),
    "api:oversight_task_rate": row(POST=OVERSIGHT_OFFICE, json={"score": 80}),
    "oversight:list": page(only(STAFF)),
    "oversight:new": page(only()),
    "oversight:ranking": page(only(STAFF)),
    "oversight:ranking_xlsx": page(only(STAFF)),
    "oversight:detail": page(only(OVERSIGHT_SEES)),
    "oversight:report": page(OVERSIGHT_REPORT),
    "oversight:milestone_add": action(OVERSIGHT_OFFICE),
    "oversight:urge": action(OVERSIGHT_OFFICE),
    "oversight:rate": action(OVERSIGHT_OFFICE),
    "oversight:review": action(OVERSIGHT_OFFICE),
    "oversight:attachment": page(only(OVERSIGHT_SEES)),
}
TABLE.update(OVERSIGHT_ROWS)
# --- messaging: staff chat (工作群) and work instructions (一键触达) ---
# The sample group is the 市场监管局's department group: its members are whoever holds a role
# there (the clerk, reviewer, head and department admin); anyone else, the superuser included,
# gets 404. The sample instruction is the city admin's to the 市场监管局 and 公安局: its sender
# and recipients see it, only the sender its receipt board. Senders: heads, department admins,
# city admins (and the superuser); the sample body has a future deadline and no recipients (422).
GROUP = {"group_id": "group_id"}
CHAT_FILE = {"chat_message_id": "chat_message_id"}
INSTRUCTION = {"instruction_id": "instruction_id"}
GROUP_MEMBERS = only(CASE_STAFF, DEPT_ADMIN, **{SUPERUSER: NOT_FOUND})
RECIPIENTS = only(CASE_STAFF, DEPT_ADMIN, **{SUPERUSER: NOT_FOUND})  # the instruction's recipients
INSTRUCTION_SEEN = only(CASE_STAFF, DEPT_ADMIN, CITY_ADMIN, **{SUPERUSER: NOT_FOUND})
SENDERS = (HEAD, DEPT_ADMIN, CITY_ADMIN)
STAFF_MESSAGING_ROWS = {
    "api:chat_group_list": row(GET=signed_in(EMPTY, **dict.fromkeys(STAFF, OK))),
    "api:chat_group_create": row(POST=only(STAFF, others=FORBIDDEN)),  # the sample kind is invalid: 422
    "api:chat_group_detail": row(GET=GROUP_MEMBERS, kwargs=GROUP),
    "api:chat_message_list": row(GET=GROUP_MEMBERS, kwargs=GROUP),
    "api:chat_message_post": row(POST=GROUP_MEMBERS, kwargs=GROUP),
    "api:chat_group_read": row(POST=GROUP_MEMBERS, kwargs=GROUP),
    "api:chat_member_add": row(POST=GROUP_MEMBERS, kwargs=GROUP),  # a department group: 422
    "api:chat_member_remove": row(DELETE=GROUP_MEMBERS, kwargs=GROUP),
    "api:chat_attachment": row(GET=GROUP_MEMBERS, kwargs=CHAT_FILE),
    "api:work_instruction_list": row(GET=signed_in(EMPTY, **dict.fromkeys((*CASE_STAFF, DEPT_ADMIN), OK))),
    "api:work_instruction_send": row(
        POST=only(SENDERS, others=FORBIDDEN), json={"deadline": "2099-01-01T08:00:00+08:00", "department_ids": []}
    ),
    "api:work_instruction_detail": row(GET=INSTRUCTION_SEEN, kwargs=INSTRUCTION),
    "api:work_instruction_read": row(POST=RECIPIENTS, kwargs=INSTRUCTION),
    "api:work_instruction_ack": row(POST=RECIPIENTS, kwargs=INSTRUCTION),
    "api:work_instruction_receipts": row(GET=only(CITY_ADMIN, **{SUPERUSER: NOT_FOUND}), kwargs=INSTRUCTION),
    "messaging_workbench:chat": row(GET=only(STAFF), POST=refused(anonymous=LOGIN)),
    "messaging_workbench:chat_new": page(only(STAFF)),
    "messaging_workbench:chat_room": row(GET=GROUP_MEMBERS, POST=refused(anonymous=LOGIN), kwargs=GROUP),
    "messaging_workbench:chat_poll": row(GET=GROUP_MEMBERS, POST=refused(anonymous=LOGIN), kwargs=GROUP),
    "messaging_workbench:chat_send": action(GROUP_MEMBERS, kwargs=GROUP),
    "messaging_workbench:chat_members": action(GROUP_MEMBERS, kwargs=GROUP),
    "messaging_workbench:chat_attachment": row(GET=GROUP_MEMBERS, POST=refused(anonymous=LOGIN), kwargs=CHAT_FILE),
    "messaging_workbench:instructions": row(GET=only(STAFF), POST=refused(anonymous=LOGIN)),
    "messaging_workbench:instruction_new": page(only(SENDERS)),
    "messaging_workbench:instruction": row(GET=INSTRUCTION_SEEN, POST=refused(anonymous=LOGIN), kwargs=INSTRUCTION),
    "messaging_workbench:instruction_board": row(
        GET=only(CITY_ADMIN, **{SUPERUSER: NOT_FOUND}), POST=refused(anonymous=LOGIN), kwargs=INSTRUCTION
    ),
    "messaging_workbench:instruction_ack": action(RECIPIENTS, kwargs=INSTRUCTION),
}
TABLE.update(STAFF_MESSAGING_ROWS)
# Editing and recalling a chat message (the sample file message is scjg_head's): its author gets
# through (409 once the change window has passed), the other members 403 (they see it, it is not
# theirs) — on the pages a redirect with the reason —, everyone else 404.
MESSAGE_AUTHOR = only(HEAD, **dict.fromkeys((CLERK, REVIEWER, DEPT_ADMIN), FORBIDDEN), **{SUPERUSER: NOT_FOUND})
TABLE.update(
    {
        "api:chat_message_edit": row(PATCH=MESSAGE_AUTHOR, kwargs=CHAT_FILE),
        "api:chat_message_recall": row(POST=MESSAGE_AUTHOR, kwargs=CHAT_FILE),
        "messaging_workbench:chat_message_edit": action(GROUP_MEMBERS, kwargs=CHAT_FILE),
        "messaging_workbench:chat_message_recall": action(GROUP_MEMBERS, kwargs=CHAT_FILE),
    }
)


# --- admin: every model's pages (三员分立) --------------------------------------------------------
# Each model's changelist, add, change, delete and history pages answer ADMIN_SITE: no actor of
# this matrix holds the system, security or audit admin role, the only keys to the site — the
# audit trail and the exchange's evidence log included. What each role reaches, and which
# models are read-only, is identity/tests/test_admin_reach.py's.
ADMIN_MODELS: tuple[str, ...] = (
    # --- auth / axes / tasks (third-party) ---
    "auth_group",
    "axes_accessattempt",
    "axes_accesslog",
    "axes_accessfailurelog",
    "django_tasks_database_dbtaskresult",
    # --- cases ---
    "cases_case",
    # --- catalog ---
    "catalog_serviceitem",
    "catalog_serviceitemversion",
    "catalog_lifeevent",
    "catalog_searchsynonym",
    "catalog_searchentry",
    # --- core ---
    "core_holiday",
    "core_auditevent",
    "core_scheduledjob",
    # --- identity ---
    "identity_user",
    "identity_apitoken",
    "identity_delegation",  # read-only, the security admin's (三员分立)
    "identity_assistconsent",
    # --- licenses ---
    "licenses_licensetype",
    "licenses_license",
    "licenses_seal",
    "licenses_sealkey",
    "licenses_certificateauthority",
    "licenses_presentation",
    "licenses_presentationview",
    # --- messaging ---
    "messaging_template",
    "messaging_message",
    "messaging_delivery",
    # --- registries ---
    "registries_registryfield",
    "registries_gridcell",
    "registries_qualityreport",
)


def _admin_rows(model: str) -> dict[str, Row]:
    return {
        f"admin:{model}_changelist": page(ADMIN_SITE),
        f"admin:{model}_add": page(ADMIN_SITE),
        f"admin:{model}_change": row(GET=ADMIN_SITE, POST=ADMIN_SITE),
        f"admin:{model}_delete": page(ADMIN_SITE),
        f"admin:{model}_history": page(ADMIN_SITE),
    }


for _model in (
    *ADMIN_MODELS,
    "exchange_exchangelog",
    "exchange_exchangelogseal",
    "oversight_member",  # the 督查室 and city leaders (added and removed through the audited services)
    "oversight_keytask",
):
    TABLE.update(_admin_rows(_model))

# --- payments ------------------------------------------------------------------------------------
# The sample bill (bill_id) is citizen01's paid 居民身份证工本费 bill of a 公安局 case (demo); the
# staff actors work in the 市场监管局, so for them it is missing. No reconciliation report exists.
PAYMENTS_ROWS = {
    "payments:bill": row(GET=only(CITIZEN, AUDITOR, CITY_ADMIN), POST=refused()),
    "payments:bill_pay": action(only(CITIZEN, superuser=NOT_FOUND)),  # only the payer pays
    "payments:bill_return": row(GET=only(CITIZEN, AUDITOR, CITY_ADMIN), POST=refused()),
    "payments:receipt_pdf": row(GET=only(CITIZEN, AUDITOR, CITY_ADMIN), POST=refused()),
    "payments:callback": row(GET=refused(), POST=everyone()),  # 422 callback_forged: no signature
    "payments:receipt_verify": row(GET=everyone(NOT_FOUND), POST=refused()),
    "payments_workbench:list": row(GET=only(STAFF), POST=refused()),
    # raise on citizen01's delivered case: case staff get the form (the service then refuses the state)
    "payments_workbench:raise": page(step(CASE_STAFF, hidden_from=(CITIZEN, ENTERPRISE_AGENT, DEPT_ADMIN))),
    "payments_workbench:detail": row(GET=only(AUDITOR, CITY_ADMIN), POST=refused()),
    # the workbench's action pages let the service decide and show its answer as a message
    "payments_workbench:cancel": action(only(AUDITOR, CITY_ADMIN)),
    "payments_workbench:refund": action(only(AUDITOR, CITY_ADMIN)),
    "payments_workbench:reconciliation": page(only(CITY_ADMIN, AUDITOR)),
    "payments_workbench:reconciliation_detail": row(
        GET=only(superuser=NOT_FOUND), POST=refused(), kwargs={"report_id": "reconciliation_report_id"}
    ),
    "api:payments_bill_list": row(GET=signed_in(EMPTY, citizen=OK, auditor=OK, city_admin=OK, superuser=OK)),
    "api:payments_bill_get": row(GET=only(CITIZEN, AUDITOR, CITY_ADMIN)),
    "api:payments_bill_raise": row(
        POST=step(CASE_STAFF, hidden_from=(ENTERPRISE_AGENT, DEPT_ADMIN)),
        json={"fee_name": "x", "revenue_code": "103040101", "amount_fen": 2000},
    ),
    "api:payments_bill_pay": row(POST=only(CITIZEN, superuser=NOT_FOUND)),
    # an empty reason: the role gate answers first (403), the head/superuser then gets 422
    "api:payments_bill_refund": row(
        POST=step(hidden_from=(ENTERPRISE_AGENT, *CASE_STAFF, DEPT_ADMIN)), json={"reason": ""}
    ),
    # 窗口收款 and the kiosk's printable receipt: who sees the bill (the payer may not collect: 403;
    # the superuser passes the gate and is refused the paid bill, 409).
    "api:payments_bill_counter": row(
        POST=only(citizen=FORBIDDEN, auditor=FORBIDDEN, city_admin=FORBIDDEN),
        json={"method": "cash", "amount_fen": 2000},
    ),
    "payments_workbench:counter": action(only(AUDITOR, CITY_ADMIN)),  # refused: a message
    "payments:receipt_print": row(GET=only(CITIZEN, AUDITOR, CITY_ADMIN), POST=refused()),
    "payments:receipts_mine": row(GET=signed_in(), POST=refused()),
    "api:payments_receipt_verify": row(GET=everyone(NOT_FOUND)),
}
TABLE.update(PAYMENTS_ROWS)

# --- appointments ------------------------------------------------------------------------------
# The demo hall is the 市场监管局's: its clerk, head and department admin (and the city admin,
# with descendants) work its queue; only a window clerk calls numbers. citizen01 holds a booking.
# Booking is a person's own: staff accounts are refused (403); another's booking is a 404 for all.
# The hall screen, the slots and the kiosk's start pages are public (a browser without the kiosk
# cookie is sent to the activation page).
HALL_STAFF = (CLERK, HEAD, DEPT_ADMIN, CITY_ADMIN)
BOOKING = {"number": "appointment_number"}
APPOINTMENT_ROWS = {
    "api:appointment_halls": row(GET=everyone()),
    "api:appointment_slots": row(GET=everyone()),
    # The demo's first slot (by id, whatever the database's sequences gave it).
    "api:appointment_book": row(
        POST=signed_in(FORBIDDEN, citizen=OK, enterprise_agent=OK), json={"slot_id": "$first_slot_id"}
    ),  # staff: 403 citizen_only
    "api:appointment_my_bookings": row(GET=signed_in(EMPTY, citizen=OK)),
    "api:appointment_detail": row(GET=signed_in(NOT_FOUND, citizen=OK), kwargs=BOOKING),
    "api:appointment_cancel": row(POST=signed_in(NOT_FOUND, citizen=OK), kwargs=BOOKING),
    "api:appointment_change": row(
        POST=signed_in(NOT_FOUND, citizen=OK), kwargs=BOOKING, json={"slot_id": "$first_slot_id"}
    ),
    "api:appointment_hall_today": row(GET=only(HALL_STAFF)),
    "api:appointment_check_in": row(POST=only(HALL_STAFF), json={"number": "$appointment_number"}),  # 409 not today
    "api:appointment_walk_in": row(POST=only(HALL_STAFF)),  # the sample item: 422 past the gate
    "api:appointment_call_next": row(
        POST=step(CLERK, hidden_from=(*PUBLIC_ACCOUNTS, REVIEWER, AUDITOR)), json={"window_label": "1"}
    ),
    "appointments:index": row(GET=everyone(), POST=refused()),
    "appointments:book": action(signed_in()),  # refusals come back as a message on the slots page
    "appointments:mine": row(GET=signed_in(), POST=refused(anonymous=LOGIN)),
    "appointments:slip": row(GET=signed_in(NOT_FOUND, citizen=OK), POST=refused(anonymous=LOGIN), kwargs=BOOKING),
    "appointments:cancel": action(signed_in(NOT_FOUND, citizen=OK), kwargs=BOOKING),
    "appointments:change": page(signed_in(NOT_FOUND, citizen=OK), kwargs=BOOKING),
    "appointments:screen": row(GET=everyone(), POST=refused()),
    "appointments:screen_board": row(GET=everyone(), POST=refused()),
    "appointments_workbench:index": row(GET=only(HALL_STAFF), POST=refused(anonymous=LOGIN)),
    "appointments_workbench:queue": row(GET=only(HALL_STAFF), POST=refused(anonymous=LOGIN)),
    "appointments_workbench:action": action(only(HALL_STAFF), kwargs={"action": "queue_action"}),
    # Halls, weekly templates, kiosks: the hall department's administrators (and the city's).
    "appointments_workbench:setup": page(only(DEPT_ADMIN, CITY_ADMIN)),  # an empty POST: 422
    "appointments_workbench:setup_hall": page(only(DEPT_ADMIN, CITY_ADMIN)),
    "kiosk:home": row(GET=everyone(), POST=refused()),
    "kiosk:activate": page(everyone()),
    "kiosk:poll": row(GET=everyone(NOT_FOUND), POST=refused()),  # no kiosk cookie
    "kiosk:scan": page(signed_in(NOT_FOUND)),  # the sample token is no pending QR sign-in
    "kiosk:sms": page(everyone()),
    "kiosk:logout": row(GET=refused(), POST=everyone()),
    "kiosk:bookings": page(signed_in()),
}
TABLE.update(APPOINTMENT_ROWS)

# --- analytics ---------------------------------------------------------------------------------
# The dashboards are for leaders and operators: the department head and admin see their
# department (the 市场监管局), the city admin and the superuser the whole city; everyone else gets
# 404. Thresholds (三色预警) are set by the city admin only (the sample body is refused: 422).
DASHBOARD_VIEWERS = only(HEAD, DEPT_ADMIN, CITY_ADMIN)
PANEL = {"code": "panel_code"}
ANALYTICS_ROWS = {
    "analytics:dashboard": row(GET=DASHBOARD_VIEWERS, POST=refused(anonymous=LOGIN)),
    "analytics:screen": row(GET=DASHBOARD_VIEWERS, POST=refused(anonymous=LOGIN)),
    "analytics:panel_xlsx": row(GET=DASHBOARD_VIEWERS, POST=refused(anonymous=LOGIN), kwargs=PANEL),
    "analytics:thresholds": row(GET=DASHBOARD_VIEWERS, POST=only(CITY_ADMIN)),
    "api:analytics_scopes": row(GET=DASHBOARD_VIEWERS),
    "api:analytics_panels": row(GET=DASHBOARD_VIEWERS),
    "api:analytics_panel": row(GET=DASHBOARD_VIEWERS, kwargs=PANEL),
    # the demo's thresholds are the city's: a department's viewers get an empty list
    "api:analytics_thresholds": row(GET=only(CITY_ADMIN, **{HEAD: EMPTY, DEPT_ADMIN: EMPTY})),
    "api:analytics_threshold_save": row(POST=only(CITY_ADMIN)),
}
TABLE.update(ANALYTICS_ROWS)
# The department search of the scope picker and who is on duty now (a fragment): the viewers.
TABLE.update(
    {
        "analytics:scopes": row(GET=DASHBOARD_VIEWERS, POST=refused(anonymous=LOGIN)),
        "analytics:duty": row(GET=DASHBOARD_VIEWERS, POST=refused(anonymous=LOGIN)),
    }
)

# --- publicity (政务公开, 意见征集) -----------------------------------------------------------------
# Documents and consultations are public; commenting needs a sign-in (the demo's open
# consultation is the 市场监管局's, so the sample comment is accepted or refused with a message,
# never by the gate). Publishing and moderation are for the department's admins and the city
# admin (the catalog's rule): the 市场监管局 admin holds it, every other actor gets 404.
PUBLICITY_ADMINS = only(DEPT_ADMIN, CITY_ADMIN)
PUBLICITY_ROWS = {
    "publicity:index": row(GET=everyone(), POST=refused()),
    "publicity:document": row(GET=everyone(), POST=refused(), kwargs={"pk": "publicity_document_id"}),
    "publicity:consultation": row(GET=everyone(), POST=refused(), kwargs={"pk": "publicity_consultation_id"}),
    "publicity:comment": action(signed_in(), kwargs={"pk": "publicity_consultation_id"}),
    "publicity:workbench": page(PUBLICITY_ADMINS),
    "publicity:moderation": row(
        GET=PUBLICITY_ADMINS, POST=refused(anonymous=LOGIN), kwargs={"pk": "publicity_consultation_id"}
    ),
    "publicity:moderate": action(PUBLICITY_ADMINS, kwargs={"pk": "publicity_comment_id"}),
    "publicity:summarize": action(PUBLICITY_ADMINS, kwargs={"pk": "publicity_consultation_id"}),
}
TABLE.update(PUBLICITY_ROWS)

# The publicity API: the same gates as the pages. Documents and consultations are public; a
# comment needs a sign-in (the demo's open consultation takes it: 201); opening a consultation,
# the comments to moderate, moderation and the summary are for the department's admins and the
# city admin — everyone else gets 404 (the sample body then fails validation for the admins: 422).
PUBLICITY_CONSULTATION = {"consultation_id": "publicity_consultation_id"}
TABLE.update(
    {
        "publicity:consultation_new": page(PUBLICITY_ADMINS),
        "api:publicity_documents": row(GET=everyone()),
        "api:publicity_document": row(GET=everyone(), kwargs={"document_id": "publicity_document_id"}),
        "api:publicity_consultations": row(GET=everyone()),
        "api:publicity_consultation": row(GET=everyone(), kwargs=PUBLICITY_CONSULTATION),
        "api:publicity_comment_post": row(POST=signed_in(), kwargs=PUBLICITY_CONSULTATION),
        "api:publicity_consultation_open": row(POST=PUBLICITY_ADMINS),
        "api:publicity_admin_consultations": row(
            GET=signed_in(EMPTY, department_admin=OK, city_admin=OK, superuser=OK)
        ),
        "api:publicity_admin_comments": row(GET=PUBLICITY_ADMINS, kwargs=PUBLICITY_CONSULTATION),
        "api:publicity_comment_moderate": row(POST=PUBLICITY_ADMINS, kwargs={"comment_id": "publicity_comment_id"}),
        "api:publicity_consultation_summarize": row(POST=PUBLICITY_ADMINS, kwargs=PUBLICITY_CONSULTATION),
    }
)

# The policies API (惠企政策). The library is public. The calculator is an enterprise agent's
# (his enterprise's facts) or a citizen's (his own, population facts); staff have neither: 404.
# 即申即享 and objections are an enterprise agent's (anyone else: 403 not_enterprise). Objections
# are answered by the issuing department (the demo's policy is the 市场监管局's; the sample id
# names no objection: 404 for all).
POLICY_BENEFIT = {"benefit_id": "policy_benefit_id"}
TABLE.update(
    {
        "api:policies_library": row(GET=everyone()),
        "api:policies_policy": row(GET=everyone(), kwargs={"policy_id": "policy_id"}),
        "api:policies_eligibility": row(GET=signed_in(NOT_FOUND, citizen=OK, enterprise_agent=OK)),
        "api:policies_awards": row(GET=signed_in(EMPTY, enterprise_agent=OK)),
        "api:policies_benefit_apply": row(POST=signed_in(FORBIDDEN, enterprise_agent=OK), kwargs=POLICY_BENEFIT),
        "api:policies_objections_mine": row(GET=signed_in(EMPTY)),
        "api:policies_objection_raise": row(POST=signed_in(FORBIDDEN, enterprise_agent=OK), kwargs=POLICY_BENEFIT),
        "api:policies_objections": row(GET=signed_in(EMPTY)),
        "api:policies_objection_decide": row(POST=signed_in(NOT_FOUND), kwargs={"objection_id": "number"}),
    }
)

# --- identity: delegation (授权代办) and 帮办 ----------------------------------------------------------
# The demo's enterprise delegation: ent01's account (its legal representative) authorizes citizen01
# for all items. Its principal and its agent see it; nobody else (the superuser neither: 404). Only
# the agent, while it is in force, acts through it. The sample case (citizen01's own) is not the
# enterprise's: 404 through the delegation for all. No 帮办 consent exists: 404 for all; only a
# window clerk (by a grant of their own) may ask one (the sample body then fails validation: 422).
DELEGATION = {"delegation_id": "delegation_id"}
DELEGATION_CASE = {"delegation_id": "delegation_id", "case_id": "case_id"}
CONSENT = {"consent_id": "consent_id"}
PARTIES = signed_in(NOT_FOUND, citizen=OK, enterprise_agent=OK)
AGENT = signed_in(NOT_FOUND, citizen=OK)
PUBLIC_ONLY = signed_in(NOT_FOUND, citizen=OK, enterprise_agent=OK)
DELEGATION_ROWS = {
    "identity:delegations": row(GET=signed_in(), POST=PUBLIC_ONLY),
    "identity:delegation_agent": page(AGENT, kwargs=DELEGATION),
    "identity:delegation_revoke": action(PARTIES, kwargs=DELEGATION),
    "identity:delegation_case": page(signed_in(NOT_FOUND), kwargs=DELEGATION_CASE),
    # Acting on a case (补正, 撤回) needs one the agent submitted himself: the sample case is not.
    "identity:delegation_case_supplement": action(signed_in(NOT_FOUND), kwargs=DELEGATION_CASE),
    "identity:delegation_case_withdraw": action(signed_in(NOT_FOUND), kwargs=DELEGATION_CASE),
    "identity:assist": row(GET=signed_in(), POST=signed_in(NOT_FOUND)),
    "identity_workbench:assist": page(signed_in(NOT_FOUND, window_clerk=OK)),
    "api:delegation_list_given": row(GET=signed_in(EMPTY, enterprise_agent=OK)),
    "api:delegation_list_held": row(GET=signed_in(EMPTY, citizen=OK)),
    # Only public accounts give delegations (staff: 403); for them 422, the sample agent matches no account
    "api:delegation_create": row(POST=signed_in(FORBIDDEN, citizen=OK, enterprise_agent=OK)),
    "api:delegation_detail": row(GET=PARTIES, kwargs=DELEGATION),
    "api:delegation_revoke": row(POST=PARTIES, kwargs=DELEGATION),
    "api:delegation_cases": row(GET=signed_in(NOT_FOUND, citizen=EMPTY), kwargs=DELEGATION),
    "api:delegation_case_detail": row(GET=signed_in(NOT_FOUND), kwargs=DELEGATION_CASE),
    "api:delegation_apply": row(POST=signed_in(NOT_FOUND), kwargs=DELEGATION),  # the sample item: none
    "api:delegation_case_material": row(POST=signed_in(NOT_FOUND), kwargs=DELEGATION_CASE),
    "api:delegation_case_supplement_answer": row(POST=signed_in(NOT_FOUND), kwargs=DELEGATION_CASE),
    "api:delegation_case_withdraw": row(POST=signed_in(NOT_FOUND), kwargs=DELEGATION_CASE),
    "api:assist_request": row(POST=signed_in(FORBIDDEN, window_clerk=OK)),
    "api:assist_requests": row(GET=signed_in(EMPTY)),
    "api:assist_consent": row(POST=signed_in(NOT_FOUND), kwargs=CONSENT),
    "api:assist_decline": row(POST=signed_in(NOT_FOUND), kwargs=CONSENT),
    "api:assist_verify": row(POST=signed_in(NOT_FOUND), kwargs=CONSENT),
    "api:assist_apply": row(POST=signed_in(NOT_FOUND), kwargs=CONSENT),
}
TABLE.update(DELEGATION_ROWS)
