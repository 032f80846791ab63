"""License reads: verification (public), the holder's wallet, staff lists, the 免提交 hook."""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.core.codes import validate_license_identifier
from yiwang.core.crypto import DecryptionError, blind_index
from yiwang.core.errors import NotFound
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.identity.models import User
from yiwang.identity.selectors import departments_for_actor
from yiwang.licenses import keys
from yiwang.licenses.models import HolderKind, License, Presentation, PresentationView


@dataclass
class Verification:
    """The outcome shown on /verify and over the API."""

    result: str  # valid | suspended | revoked | expired | not_found | invalid_signature | malformed
    message: str
    identifier: str = ""
    license: License | None = None
    reasons: list[str] = field(default_factory=list)
    signature_valid: bool = False
    token_matches: bool | None = None

    def as_dict(self) -> dict:
        lic = self.license
        data = {
            "result": self.result,
            "message": str(self.message),
            "identifier": self.identifier,
            "signature_valid": self.signature_valid,
            "token_matches": self.token_matches,
            "reasons": [str(r) for r in self.reasons],
            "license": None,
        }
        if lic is not None:
            person = lic.holder_kind == HolderKind.PERSON
            data["license"] = {
                "type": lic.license_type.code,
                "type_name": lic.license_type.name,
                "issuer": lic.issuer.name,
                "issuer_uscc": lic.issuer.uscc,
                "holder_kind": lic.holder_kind,
                "holder_name": mask_name(lic.holder_name) if person else lic.holder_name,
                "holder_id": mask_id_number(_safe_holder_id(lic)) if person else _safe_holder_id(lic),
                "issue_date": lic.issue_date.isoformat(),
                "valid_until": lic.valid_until.isoformat() if lic.valid_until else None,
                "status": lic.status,
                "status_reason": lic.status_reason if lic.status != License.Status.VALID else "",
                "key_version": lic.seal_key.version,
            }
        return data


def _safe_holder_id(lic: License) -> str:
    try:
        return lic.holder_id or ""
    except (DecryptionError, ValueError):
        return ""


_MESSAGES = {
    "valid": _("证照有效,签名验证通过。"),
    "suspended": _("证照已暂停使用。"),
    "revoked": _("证照已注销,不再有效。"),
    "expired": _("证照已超过有效期。"),
    "not_found": _("未找到该证照。"),
    "invalid_signature": _("证照数据与颁发部门的签名不符,可能已被篡改,请勿采信。"),
    "malformed": _("证照标识不正确。"),
}


def license_verify(*, identifier: str, token: str | None = None, today: datetime.date | None = None) -> Verification:
    """Check a license from its identifier (and the QR code's token): status, dates, SM2 signature.

    The signature is recomputed on every call from the stored canonical data, so a row
    altered in the database fails, with the reason.
    """
    from yiwang.licenses.services import signing_message

    try:
        identifier = validate_license_identifier(identifier).identifier
    except ValidationError as exc:
        return Verification(result="malformed", message=_MESSAGES["malformed"], reasons=list(exc.messages))
    found = License.objects.select_related("license_type", "issuer", "seal_key__seal").filter(identifier=identifier)
    try:
        lic = found.first()
    except (DecryptionError, ValueError):  # holder ID undecryptable: data key changed or ciphertext altered
        lic = found.defer("holder_id").first()
    if lic is None:
        return Verification(result="not_found", message=_MESSAGES["not_found"], identifier=identifier)
    reasons: list = []
    try:
        message = signing_message(lic)
    except (DecryptionError, ValueError):
        message = None
        reasons.append(_("持证主体信息无法解密"))
    signature_valid = bool(message) and keys.sm2_verify(lic.seal_key.sm2_public_key, message, lic.signature)
    if message and not signature_valid:
        reasons.append(
            _("用颁发部门第%(version)d版印章密钥验证签名失败:证照内容(持证人、数据、日期或类型)与签发时不一致")
            % {"version": lic.seal_key.version}
        )
    if lic.seal_key.seal.department_id != lic.issuer_id:
        signature_valid = False
        reasons.append(_("签名所用印章不属于颁发部门"))
    token_matches = None
    if token:
        token_matches = token.strip().upper() == keys.short_token(lic.signature)
        if not token_matches:
            reasons.append(_("二维码中的签名摘要与证照签名不一致(二维码不属于此证照或已被换发)"))
    today = today or timezone.localdate()
    if not signature_valid or token_matches is False:
        result = "invalid_signature"
    elif lic.status == License.Status.VALID and lic.valid_until and lic.valid_until < today:
        result = "expired"
    else:
        result = lic.status
    if result == "expired" and lic.valid_until:
        reasons.append(_("有效期至%(date)s") % {"date": lic.valid_until.isoformat()})
    if result in ("revoked", "suspended") and lic.status_reason:
        reasons.append(lic.status_reason)
    return Verification(
        result=result,
        message=_MESSAGES[result],
        identifier=identifier,
        license=lic,
        reasons=reasons,
        signature_valid=signature_valid,
        token_matches=token_matches,
    )


# ------------------------------------------------------------------ holders (wallet) and the 免提交 hook


def _holder_indexes(user: User) -> list[str]:
    indexes = []
    if getattr(user, "id_number", ""):
        indexes.append(blind_index(user.id_number))
    if getattr(user, "enterprise_uscc", ""):
        indexes.append(blind_index(user.enterprise_uscc))
    return indexes


def licenses_for_holder(*, actor) -> QuerySet[License]:
    """The signed-in person's (and their enterprise's) licenses, newest first."""
    if not getattr(actor, "is_authenticated", False):
        return License.objects.none()
    indexes = _holder_indexes(actor)
    if not indexes:
        return License.objects.none()
    return License.objects.select_related("license_type", "issuer").filter(holder_id_index__in=indexes)


def license_get_for_holder(*, actor, id: int) -> License:
    lic = licenses_for_holder(actor=actor).select_related("seal_key__seal").filter(pk=id).first()
    if lic is None:
        raise NotFound()
    return lic


def valid_licenses_of_type(
    *, license_type_code: str, holder_id: str, today: datetime.date | None = None
) -> QuerySet[License]:
    """Which valid licenses of type T does this person / enterprise (身份证号 or USCC) hold."""
    today = today or timezone.localdate()
    return (
        License.objects.select_related("license_type", "issuer")
        .filter(
            license_type__code=license_type_code,
            holder_id_index=blind_index((holder_id or "").strip().upper()),
            status=License.Status.VALID,
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
    )


def license_identifiers_held(*, license_type_code: str, holder_id: str) -> list[tuple[str, str, datetime.date | None]]:
    """(identifier, status, valid_until) of every license of type T this person / enterprise
    holds, whatever its status, the valid ones first and then newest first: the 免提交 check
    of ``cases`` takes the first and tells the applicant why when it is not valid. One query."""
    rows = (
        License.objects.filter(
            license_type__code=license_type_code, holder_id_index=blind_index((holder_id or "").strip().upper())
        )
        .order_by("-issue_date", "-id")
        .values_list("identifier", "status", "valid_until")
    )
    today = timezone.localdate()
    rows = list(rows)
    return sorted(rows, key=lambda r: 0 if r[1] == License.Status.VALID and (r[2] is None or r[2] >= today) else 1)


def licenses_for_staff(*, actor) -> QuerySet[License]:
    """Licenses issued by departments where the actor holds a role."""
    if not getattr(actor, "is_authenticated", False):
        return License.objects.none()
    if actor.is_superuser:
        return License.objects.select_related("license_type", "issuer")
    return License.objects.select_related("license_type", "issuer").filter(
        issuer__in=departments_for_actor(actor=actor)
    )


def license_get_for_staff(*, actor, id: int) -> License:
    lic = licenses_for_staff(actor=actor).filter(pk=id).first()
    if lic is None:
        raise NotFound()
    return lic


# ------------------------------------------------------------------ presentations


def presentation_open(*, code: str, viewer=None, viewer_label: str = "", user_agent: str = "") -> Verification:
    """Show a presented license to a third party, logging the view; expired/revoked codes show nothing."""
    code = (code or "").strip().upper()
    presentation = Presentation.objects.select_related("license").filter(code=code).first()
    now = timezone.now()
    if presentation is None or presentation.revoked_at is not None or presentation.expires_at <= now:
        raise NotFound(_("亮证码不存在、已过期或已被撤回。"))
    PresentationView.objects.create(
        presentation=presentation,
        viewer=viewer if getattr(viewer, "is_authenticated", False) else None,
        viewer_label=(viewer_label or "")[:200],
        user_agent=(user_agent or "")[:300],
    )
    return license_verify(identifier=presentation.license.identifier)


def presentations_for_holder(*, actor) -> QuerySet[Presentation]:
    if not getattr(actor, "is_authenticated", False):
        return Presentation.objects.none()
    return Presentation.objects.filter(created_by=actor).select_related("license__license_type")


# ------------------------------------------------------------------ the license registry (电子证照库)


def license_registry_rows(*, identifiers: list[str]) -> list[dict]:
    """The licenses with these identifiers as plain registry rows (holder ID decrypted), in one
    query: what ``registries.selectors.record_read`` serves as the electronic-license registry,
    a view over this app's table rather than a copy. No authorization: callers authorize."""
    rows = []
    for lic in License.objects.select_related("license_type", "issuer").filter(identifier__in=identifiers):
        rows.append(
            {
                "identifier": lic.identifier,
                "license_type": lic.license_type.code,
                "license_type_name": lic.license_type.name,
                "issuer": lic.issuer.name,
                "issuer_uscc": lic.issuer.uscc,
                "holder_kind": lic.holder_kind,
                "holder_name": lic.holder_name,
                "holder_id": _safe_holder_id(lic),
                "data": lic.data,
                "issue_date": lic.issue_date,
                "valid_until": lic.valid_until,
                "status": lic.status,
                "updated_at": lic.updated_at,
            }
        )
    return rows


# --- Figures for the dashboards' rollups (analytics) --------------------------------------------


def license_daily_figures(*, since: datetime.date, until: datetime.date) -> list[dict]:
    """Licenses issued per issuing department and issue day in ``[since, until)``, and
    presentations verified (opened by a verifier, 亮证核验) per issuer and local day: two grouped
    queries for the analytics rollup. Keys: ``department_id, region_code, day, issued, verified``."""
    from collections import defaultdict

    from django.db.models import Count
    from django.db.models.functions import TruncDate

    out: dict = defaultdict(lambda: {"issued": 0, "verified": 0})
    issued = (
        License.objects.filter(issue_date__gte=since, issue_date__lt=until)
        .values("issuer_id", "issuer__region_code", "issue_date")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in issued:
        out[(row["issuer_id"], row["issuer__region_code"], row["issue_date"])]["issued"] += row["n"]
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(until, datetime.time.min))
    verified = (
        PresentationView.objects.filter(viewed_at__gte=start, viewed_at__lt=end)
        .annotate(day=TruncDate("viewed_at"))
        .values("presentation__license__issuer_id", "presentation__license__issuer__region_code", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in verified:
        key = (row["presentation__license__issuer_id"], row["presentation__license__issuer__region_code"], row["day"])
        out[key]["verified"] += row["n"]
    return [
        {"department_id": dept, "region_code": region or "", "day": day, **counts}
        for (dept, region, day), counts in out.items()
    ]
