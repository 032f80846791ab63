"""Object scope: someone else's object is answered exactly like a missing one.

For each kind of object (case, material file, notice PDF, draft, life-event bundle, license,
license PDF, presentation, message, rating, rectification) and every page and API operation that reads or acts on it,
each outsider — another citizen, another enterprise, staff of another department, staff of
another county, and an anonymous caller — gets:

* 404 (anonymous: the sign-in redirect, or 401 from the API), and
* the very same answer as for an id that does not exist (status, error code, redirect), and
* a body with nothing of the object in it (number, applicant name, title, file name…).

The API actions are sent with a body that passes validation, so the answer comes from the
object lookup and not from a 422 in front of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.trust import matrix
from tests.trust.world import OUTSIDERS, World

MISSING = 987654321
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass(frozen=True)
class Probe:
    kind: str
    method: str
    path: str  # with "{id}" where the object's id goes (and "{other}" for a second id)
    api: bool
    body: dict | None = None
    multipart: bool = False


def _probes(world: World) -> list[tuple[Probe, dict, dict, list[str]]]:
    """(probe, values of the real object, values of a missing one, texts that must not appear)."""
    case, material, draft, bundle = world.case, world.material, world.draft, world.bundle
    lic, presentation, message = world.license, world.presentation, world.message
    applicant = case.applicant_name
    case_secrets = [case.number, applicant, "示范小吃店"]
    real_case, missing_case = {"id": case.pk}, {"id": MISSING}
    version = {"version": case.version}
    cases_api = [
        ("GET", "/api/v1/cases/{id}", None),
        ("GET", "/api/v1/cases/{id}/notices/acceptance", None),
        ("POST", "/api/v1/cases/{id}/supplement/answer", {**version, "note": "补正"}),
        ("POST", "/api/v1/cases/{id}/withdraw", {**version, "reason": "不办了"}),
        ("POST", "/api/v1/cases/{id}/accept", version),
        ("POST", "/api/v1/cases/{id}/refuse", {**version, "reason": "不符合"}),
        ("POST", "/api/v1/cases/{id}/supplement", {**version, "items": [{"material": "身份证", "problem": "模糊"}]}),
        ("POST", "/api/v1/cases/{id}/claim", version),
        ("POST", "/api/v1/cases/{id}/assign", {**version, "assignee_id": world.users["scjg_reviewer2"].pk}),
        ("POST", "/api/v1/cases/{id}/opinion", {**version, "opinion": "同意", "outcome": "agree"}),
        ("POST", "/api/v1/cases/{id}/extend", {**version, "days": 3, "reason": "需要现场核查"}),
        ("POST", "/api/v1/cases/{id}/decide", {**version, "decision": "approve"}),
        ("POST", "/api/v1/cases/{id}/deliver", {**version, "method": "window"}),
    ]
    page_version = {"version": str(case.version)}
    cases_pages = [
        ("GET", "/cases/{id}/", None),
        ("GET", "/cases/{id}/notices/acceptance.pdf", None),
        ("POST", "/cases/{id}/supplement/", {**page_version, "note": "补正"}),
        ("POST", "/cases/{id}/withdraw/", {**page_version, "reason": "不办了"}),
        ("POST", "/cases/{id}/human-review/", {"reason": "请人工复核"}),
        ("GET", "/workbench/cases/{id}/", None),
        ("POST", "/workbench/cases/{id}/accept/", page_version),
        ("POST", "/workbench/cases/{id}/refuse/", {**page_version, "reason": "不符合"}),
        ("POST", "/workbench/cases/{id}/claim/", page_version),
        ("POST", "/workbench/cases/{id}/opinion/", {**page_version, "opinion": "同意", "outcome": "agree"}),
        ("POST", "/workbench/cases/{id}/decide/", {**page_version, "decision": "approve"}),
        ("POST", "/workbench/cases/{id}/deliver/", {**page_version, "method": "window"}),
    ]
    probes: list[tuple[Probe, dict, dict, list[str]]] = []
    for method, path, body in cases_api:
        probes.append((Probe("case", method, path, True, body), real_case, missing_case, case_secrets))
    for method, path, form in cases_pages:
        probes.append((Probe("case", method, path, False, form), real_case, missing_case, case_secrets))
    probes.append(
        (
            Probe("case", "POST", "/api/v1/cases/{id}/materials", True, {"name": "补充材料"}, multipart=True),
            real_case,
            missing_case,
            case_secrets,
        )
    )
    probes.append(
        (
            Probe("case", "POST", "/cases/{id}/materials/", False, {"name": "补充材料"}, multipart=True),
            real_case,
            missing_case,
            case_secrets,
        )
    )

    material_secrets = [*case_secrets, material.name]
    for api, path in ((True, "/api/v1/cases/{id}/materials/{other}"), (False, "/cases/{id}/materials/{other}/")):
        probes.append(
            (
                Probe("material", "GET", path, api),
                {"id": case.pk, "other": material.pk},
                {"id": case.pk, "other": MISSING},
                material_secrets,
            )
        )

    draft_secrets = ["草稿小店"]
    for method, path, api, body in (
        ("GET", "/api/v1/cases/drafts/{id}", True, None),
        ("PUT", "/api/v1/cases/drafts/{id}", True, {"form_data": {"business_name": "改"}}),
        ("DELETE", "/api/v1/cases/drafts/{id}", True, None),
        ("POST", "/api/v1/cases/drafts/{id}/submit", True, {"idempotency_key": "scope-probe"}),
        ("GET", "/cases/drafts/{id}/", False, None),
        ("POST", "/cases/drafts/{id}/", False, None),
        ("POST", "/cases/drafts/{id}/delete/", False, None),
    ):
        probes.append((Probe("draft", method, path, api, body), {"id": draft.pk}, {"id": MISSING}, draft_secrets))

    bundle_secrets = [bundle.number, bundle.applicant_name]
    for api, path in ((True, "/api/v1/cases/bundles/{id}"), (False, "/cases/bundles/{id}/")):
        probes.append((Probe("bundle", "GET", path, api), {"id": bundle.pk}, {"id": MISSING}, bundle_secrets))

    license_secrets = [lic.identifier, lic.holder_name]
    for method, path, api, body in (
        ("GET", "/api/v1/licenses/mine/{id}/pdf", True, None),
        ("POST", "/api/v1/licenses/mine/{id}/presentations", True, {"minutes": 5, "purpose": "查看"}),
        ("GET", "/wallet/{id}/pdf", False, None),
        ("POST", "/wallet/{id}/present", False, {"minutes": "5", "purpose": "查看"}),
    ):
        probes.append((Probe("license", method, path, api, body), {"id": lic.pk}, {"id": MISSING}, license_secrets))

    for method, path, api in (
        ("POST", "/api/v1/licenses/mine/presentations/{id}/revoke", True),
        ("GET", "/wallet/presentations/{id}/", False),
        ("POST", "/wallet/presentations/{id}/revoke", False),
    ):
        probes.append(
            (
                Probe("presentation", method, path, api),
                {"id": presentation.pk},
                {"id": MISSING},
                [*license_secrets, presentation.code],
            )
        )

    # 好差评 (evaluation): citizen01's rating of his case; citizen02's 差评 and its rectification.
    from yiwang.evaluation.models import Rating

    rating = Rating.objects.filter(case=case).first()
    if rating is None:  # the demo rated another of citizen01's cases
        from yiwang.evaluation.services import rating_submit

        rating = rating_submit(actor=case.applicant, case_id=case.pk, level="satisfied", comment="示范评价")
    bad = Rating.objects.filter(rectification__isnull=False).order_by("pk").first()
    rating_secrets = [*case_secrets, rating.comment]
    for method, path, api, body in (
        ("GET", "/api/v1/evaluation/cases/{id}/rating", True, None),
        ("POST", "/api/v1/evaluation/cases/{id}/rating", True, {"level": "satisfied"}),
        ("GET", "/evaluation/cases/{id}/rate/", False, None),
        ("POST", "/evaluation/cases/{id}/rate/", False, {"level": "satisfied"}),
        ("GET", "/workbench/evaluation/cases/{id}/qr/", False, None),
    ):
        probes.append((Probe("rated case", method, path, api, body), real_case, missing_case, rating_secrets))
    for target, secrets in ((rating, rating_secrets), (bad, [bad.case_number, bad.comment])):
        for method, path, api, body in (
            ("GET", "/api/v1/evaluation/ratings/{id}", True, None),
            ("PUT", "/api/v1/evaluation/ratings/{id}", True, {"level": "satisfied"}),
            ("POST", "/api/v1/evaluation/ratings/{id}/rerate", True, {"level": "satisfied"}),
            ("POST", "/api/v1/evaluation/ratings/{id}/invalid", True, {"reason": "恶意"}),
            ("POST", "/api/v1/evaluation/ratings/{id}/invalid/decision", True, {"approve": True}),
            ("GET", "/workbench/evaluation/ratings/{id}/", False, None),
            ("POST", "/workbench/evaluation/ratings/{id}/invalid/", False, {"text": "恶意"}),
            ("POST", "/workbench/evaluation/ratings/{id}/verify/", False, {"text": "核实"}),
        ):
            probes.append((Probe("rating", method, path, api, body), {"id": target.pk}, {"id": MISSING}, secrets))
    for step in ("verify", "contact", "complete"):
        probes.append(
            (
                Probe("rectification", "POST", f"/api/v1/evaluation/rectifications/{{id}}/{step}", True, {"text": "x"}),
                {"id": bad.rectification.pk},
                {"id": MISSING},
                [bad.case_number, bad.comment],
            )
        )
    from yiwang.supervision.models import CreditGrade, Inspection

    inspection = Inspection.objects.filter(plan__status="drawn", status="assigned").order_by("pk").first()
    inspection_secrets = [inspection.entity_name, inspection.entity_uscc]
    for method, path, api, body in (
        ("GET", "/api/v1/supervision/inspections/{id}", True, None),
        ("POST", "/api/v1/supervision/inspections/{id}/record", True, {"result": "passed"}),
        ("POST", "/api/v1/supervision/inspections/{id}/publish", True, None),
        ("GET", "/workbench/supervision/inspections/{id}/", False, None),
        ("POST", "/workbench/supervision/inspections/{id}/", False, {"action": "record", "result": "passed"}),
    ):
        probes.append(
            (Probe("inspection", method, path, api, body), {"id": inspection.pk}, {"id": MISSING}, inspection_secrets)
        )
    grade = CreditGrade.objects.get(uscc=world.users["ent01"].enterprise_uscc)
    missing_uscc = "91610000MA00000000"
    for api, path in ((True, "/api/v1/supervision/grades/{id}"), (False, "/supervision/grades/{id}/")):
        probes.append((Probe("credit grade", "GET", path, api), {"id": grade.uscc}, {"id": missing_uscc}, [grade.name]))

    message_secrets = [message.body]
    for api, path in ((True, "/api/v1/messages/{id}/read"), (False, "/messages/{id}/read/")):
        probes.append((Probe("message", "POST", path, api), {"id": message.pk}, {"id": MISSING}, message_secrets))

    from yiwang.opendata.models import AccessApplication, Comment

    application = AccessApplication.objects.filter(applicant=world.user("citizen01")).first()
    comment = Comment.objects.filter(author=world.user("citizen01")).first()
    for kind, path, obj, secrets in (
        ("opendata application", "/workbench/opendata/applications/{id}/decide/", application, [application.purpose]),
        ("opendata comment", "/workbench/opendata/comments/{id}/moderate/", comment, [comment.text]),
    ):
        probe = Probe(kind, "POST", path, False, {"decision": "approve"})
        probes.append((probe, {"id": obj.pk}, {"id": MISSING}, secrets))

    from yiwang.policies.models import Award

    award = Award.objects.order_by("pk").first()
    for method, path in (
        ("POST", "/workbench/policies/awards/{id}/review/"),
        ("POST", "/workbench/policies/benefits/{id}/confirm/"),
    ):
        values = {"id": award.pk if "awards" in path else award.benefit_id}
        probe = Probe("policy award", method, path, False, {"decision": "include"})
        probes.append((probe, values, {"id": MISSING}, [award.name, award.uscc]))

    ticket = world.objects["hotline_ticket"]
    ticket_secrets = [ticket.number, ticket.title]
    for method, path, api, body in (
        ("GET", "/api/v1/hotline/tickets/{id}", True, None),
        ("POST", "/api/v1/hotline/tickets/{id}/dispatch", True, {"department": ""}),
        ("POST", "/api/v1/hotline/tickets/{id}/accept", True, None),
        ("POST", "/api/v1/hotline/tickets/{id}/return", True, {"reason": "不属于本部门职责"}),
        ("POST", "/api/v1/hotline/tickets/{id}/return-decision", True, {"accept": True}),
        ("POST", "/api/v1/hotline/tickets/{id}/reply", True, {"reply": "已经处理完毕"}),
        ("POST", "/api/v1/hotline/tickets/{id}/visit", True, {"satisfaction": 3, "resolved": True}),
        ("GET", "/workbench/hotline/tickets/{id}/", False, None),
        ("POST", "/workbench/hotline/tickets/{id}/reply/", False, {"reply": "已经处理完毕"}),
        ("GET", "/hotline/tickets/{id}/", False, None),
    ):
        probe = Probe("hotline_ticket", method, path, api, body)
        probes.append((probe, {"id": ticket.pk}, {"id": MISSING}, ticket_secrets))
    return probes


def _send(world: World, client, outsider: str | None, probe: Probe, values: dict):
    path = probe.path.format(**values)
    headers = world.bearer(outsider) if outsider and probe.api else {}
    if probe.multipart:
        data = {**(probe.body or {}), "file": SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf")}
        return matrix.ask(client, "POST", path, headers=headers, form=data)
    if not probe.api:
        return matrix.ask(client, probe.method, path, form=probe.body)
    body = json.dumps(probe.body) if probe.body is not None else None
    return matrix.ask(client, probe.method, path, headers=headers, body=body)


def _shape(response) -> tuple:
    """What a caller can tell from an answer: status, error code, where a redirect goes."""
    code = None
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            code = json.loads(response.content).get("code")
        except (ValueError, AttributeError):
            code = None
    location = response.get("Location", "").split("?")[0]
    return response.status_code, code, location


@pytest.mark.parametrize("outsider", list(OUTSIDERS))
def test_someone_elses_object_is_answered_like_a_missing_one(world, outsider):
    username = OUTSIDERS[outsider]
    page_client = matrix.client_for(world.user(username) if username else None)
    api_client = matrix.client_for(None)  # the API is asked with the outsider's bearer token
    problems = []
    probes = _probes(world)
    for probe, real, missing, secrets in probes:
        client = api_client if probe.api else page_client
        got = _send(world, client, username, probe, real)
        baseline = _send(world, client, username, probe, missing)
        outcome = matrix.classify(got, is_api=probe.api)
        wanted = matrix.LOGIN if username is None else matrix.NOT_FOUND
        where = f"{probe.method} {probe.path.format(**real)} ({probe.kind})"
        if outcome != wanted:
            problems.append(f"{where}: {outcome} (status {got.status_code}), expected {wanted}")
        if _shape(got) != _shape(baseline):
            problems.append(f"{where}: answers {_shape(got)} but a missing one answers {_shape(baseline)}")
        body = got.content.decode("utf-8", errors="replace") if not getattr(got, "streaming", False) else ""
        leaked = [text for text in secrets if text and text in body]
        if leaked:
            problems.append(f"{where}: the body shows {leaked}")
    assert not problems, f"{outsider} ({username}) reaches someone else's objects:\n" + "\n".join(problems)
    assert len(probes) >= 40
