"""Pages: public verification (扫码核验), presentation codes, and the holder's wallet (电子证照夹)."""

import io

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.core.errors import NotFound, YiwangError
from yiwang.core.masking import mask_id_number
from yiwang.core.ratelimit import rate_limit
from yiwang.licenses import selectors, services
from yiwang.licenses.models import HolderKind


def _verification_page(request: HttpRequest, result, *, status: int = 200, presentation=None) -> HttpResponse:
    shown = []
    if presentation and result.license is not None and result.result == "valid":
        # 亮证: the holder chose to show this license, so its fields are shown (the ID stays masked).
        lic = result.license
        props = (lic.license_type.field_schema or {}).get("properties", {})
        shown = [(_("持证主体名称"), lic.holder_name)] + [
            (props.get(key, {}).get("title", key), value) for key, value in (lic.data or {}).items()
        ]
    return render(
        request,
        "licenses/verify.html",
        {"v": result.as_dict(), "result": result, "presentation": presentation, "shown": shown},
        status=status,
    )


def verify_form(request: HttpRequest) -> HttpResponse:
    identifier = (request.GET.get("identifier") or "").strip()
    if identifier:
        return redirect("licenses:verify", identifier=identifier)
    return render(request, "licenses/verify_form.html")


@rate_limit("license_verify_ip")
def verify(request: HttpRequest, identifier: str) -> HttpResponse:
    result = selectors.license_verify(identifier=identifier, token=request.GET.get("s") or None)
    status = 404 if result.result in ("not_found", "malformed") else 200
    return _verification_page(request, result, status=status)


@rate_limit("license_verify_ip")
def present(request: HttpRequest, code: str) -> HttpResponse:
    try:
        result = selectors.presentation_open(
            code=code,
            viewer=request.user,
            viewer_label=request.GET.get("viewer", ""),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except YiwangError as exc:
        return render(request, "licenses/present_gone.html", {"message": exc.message}, status=404)
    return _verification_page(request, result, presentation=code)


def _for_display(lic):
    """What tells two licenses of one type apart on a card: the first fact (a business name…) and the number."""
    lic.masked_holder_id = mask_id_number(lic.holder_id) if lic.holder_kind == HolderKind.PERSON else lic.holder_id
    data = lic.data or {}
    # JSONB does not keep key order: take the type's required fields in order, then any *name* field.
    required = (lic.license_type.field_schema or {}).get("required") or []
    keys = [*required, *sorted(k for k in data if "name" in k), *sorted(data)]
    lic.subject = next((str(data[k]) for k in keys if isinstance(data.get(k), str) and data[k].strip()), "")
    return lic


@login_required
def wallet(request: HttpRequest) -> HttpResponse:
    licenses = [_for_display(lic) for lic in selectors.licenses_for_holder(actor=request.user)]
    presentations = list(selectors.presentations_for_holder(actor=request.user)[:20])
    return render(request, "licenses/wallet.html", {"licenses": licenses, "presentations": presentations})


@login_required
def wallet_license(request: HttpRequest, license_id: int) -> HttpResponse:
    """One license: its facts, its own verification QR code (the one printed on the PDF), the PDF and 亮证."""
    try:
        lic = _for_display(selectors.license_get_for_holder(actor=request.user, id=license_id))
    except YiwangError as exc:
        raise Http404 from exc
    import segno

    url = services.verify_url(lic)
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True)
    props = (lic.license_type.field_schema or {}).get("properties", {})
    facts = [(props.get(key, {}).get("title", key), value) for key, value in (lic.data or {}).items()]
    return render(
        request,
        "licenses/wallet_license.html",
        {"lic": lic, "url": url, "qr_svg": out.getvalue().decode(), "facts": facts},
    )


@login_required
def wallet_pdf(request: HttpRequest, license_id: int) -> HttpResponse:
    try:
        lic = selectors.license_get_for_holder(actor=request.user, id=license_id)
    except YiwangError as exc:
        raise Http404 from exc
    response = HttpResponse(services.license_pdf(license=lic), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{lic.license_type.code}-{lic.pk}.pdf"'
    return response


@login_required
@require_POST
def wallet_present(request: HttpRequest, license_id: int) -> HttpResponse:
    try:
        # Someone else's license is a 404, exactly like a missing one (not a message on the wallet).
        lic = selectors.license_get_for_holder(actor=request.user, id=license_id)
    except NotFound as exc:
        raise Http404 from exc
    try:
        minutes = int(request.POST.get("minutes") or 10)
        p = services.presentation_create(
            actor=request.user, license=lic, minutes=minutes, purpose=request.POST.get("purpose", "")
        )
    except ValueError:
        messages.error(request, _("有效时长应为整数分钟"))
        return redirect("licenses:wallet")
    except YiwangError as exc:
        messages.error(request, " ".join([str(exc.message), *[str(m) for ms in exc.fields.values() for m in ms]]))
        return redirect("licenses:wallet")
    return redirect("licenses:presentation", presentation_id=p.pk)


@login_required
def presentation(request: HttpRequest, presentation_id: int) -> HttpResponse:
    p = selectors.presentations_for_holder(actor=request.user).filter(pk=presentation_id).first()
    if p is None:
        raise Http404
    url = f"{settings.SITE_URL.rstrip('/')}/verify/present/{p.code}"
    import segno

    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False, svgns=True)
    views = list(p.views.all()[:50])
    return render(
        request, "licenses/presentation.html", {"p": p, "url": url, "qr_svg": out.getvalue().decode(), "views": views}
    )


@login_required
@require_POST
def presentation_revoke(request: HttpRequest, presentation_id: int) -> HttpResponse:
    p = selectors.presentations_for_holder(actor=request.user).filter(pk=presentation_id).first()
    if p is None:
        raise Http404
    services.presentation_revoke(actor=request.user, presentation=p)
    messages.success(request, _("亮证码已撤回"))
    return redirect("licenses:wallet")
