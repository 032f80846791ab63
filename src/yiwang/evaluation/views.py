"""好差评 pages: the applicant's rating page (portal, or opened from the window's QR code), the
public figures, and the workbench (ratings, rectification steps, figures, Excel, metrics).
Thin: reads are selectors, writes are services; a rating or case the actor may not see is 404."""

import io

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.cases import selectors as cases_selectors
from yiwang.core.errors import NotFound, YiwangError
from yiwang.evaluation import selectors, services
from yiwang.evaluation.models import RatingChannel, RatingLevel, RatingValidity, Rectification
from yiwang.identity.models import Role
from yiwang.identity.selectors import actor_has_role


def _error_text(exc: YiwangError) -> str:
    parts = [str(exc.message)]
    for texts in exc.fields.values():
        for text in texts if isinstance(texts, list | tuple) else [texts]:
            if str(text) not in parts:
                parts.append(str(text))
    return " ".join(parts)


def _month(request) -> str:
    month = (request.GET.get("month") or "").strip()
    return month if len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit() else ""


# --- the applicant -----------------------------------------------------------------------------


@login_required
def rate(request: HttpRequest, case_id: int) -> HttpResponse:
    """Rate a concluded case; change it once; re-rate after a rectification."""
    try:
        facts, rating = selectors.rating_for_case(actor=request.user, case_id=case_id)
    except NotFound as exc:
        raise Http404 from exc
    via = request.POST.get("via") or request.GET.get("via") or ""
    if request.method == "POST":
        action = request.POST.get("action", "submit")
        level = request.POST.get("level", "")
        comment = request.POST.get("comment", "")
        try:
            if action == "change" and rating is not None:
                services.rating_change(actor=request.user, rating_id=rating.pk, level=level, comment=comment)
            elif action == "rerate" and rating is not None:
                services.rating_rerate(actor=request.user, rating_id=rating.pk, level=level, comment=comment)
            else:
                channel = RatingChannel.QR if via == "qr" else RatingChannel.PORTAL
                services.rating_submit(
                    actor=request.user, case_id=facts["case_id"], level=level, comment=comment, channel=channel
                )
        except NotFound as exc:
            raise Http404 from exc
        except YiwangError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("感谢您的评价。"))
        return redirect("evaluation:rate", case_id=facts["case_id"])
    rectification = None
    if rating is not None:
        try:
            rectification = rating.rectification
        except Rectification.DoesNotExist:
            rectification = None
    return render(
        request,
        "evaluation/rate.html",
        {
            "facts": facts,
            "rating": rating,
            "rectification": rectification,
            "levels": RatingLevel.choices,
            "change_open": rating is not None and selectors.rating_change_open(rating=rating),
            "rerate_open": rating is not None and selectors.rating_rerate_open(rating=rating),
            "change_days": settings.YIWANG_RATING_CHANGE_DAYS,
            "via": "qr" if via == "qr" else "",
        },
    )


def qr_landing(request: HttpRequest, token: str) -> HttpResponse:
    """The window's QR code: a signed link naming the case. Opens the rating page (sign-in first)."""
    try:
        case_id = services.rating_qr_case_id(token=token)
    except NotFound as exc:
        raise Http404 from exc
    return redirect(reverse("evaluation:rate", args=[case_id]) + "?via=qr")


def public(request: HttpRequest) -> HttpResponse:
    """好差评公开: 好评率 and 差评整改率 by department."""
    month = _month(request)
    return render(
        request, "evaluation/public.html", {"rows": selectors.public_department_stats(month=month), "month": month}
    )


# --- the workbench -------------------------------------------------------------------------------


def _staff_or_404(request) -> None:
    if not selectors.is_evaluation_staff(actor=request.user):
        raise Http404


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    _staff_or_404(request)
    month = _month(request)
    group = request.GET.get("group") if request.GET.get("group") in selectors.GROUPS else "department"
    stats = selectors.rating_stats(actor=request.user, group=group, month=month or None)
    ratings = selectors.rating_list(actor=request.user)[:100]
    rectifications = selectors.rectification_list(actor=request.user, open_only=True)[:100]
    return render(
        request,
        "evaluation/workbench.html",
        {
            "stats": stats,
            "ratings": ratings,
            "rectifications": rectifications,
            "month": month,
            "group": group,
            "groups": [
                ("item", _("事项")),
                ("department", _("部门")),
                ("window", _("窗口")),
                ("staff", _("工作人员")),
            ],
        },
    )


@login_required
def rating_detail(request: HttpRequest, rating_id: int) -> HttpResponse:
    _staff_or_404(request)
    try:
        rating = selectors.rating_get(actor=request.user, rating_id=rating_id)
    except NotFound as exc:
        raise Http404 from exc
    if rating.rater_id == request.user.pk and not selectors.ratings_visible(actor=request.user).filter(pk=rating.pk):
        raise Http404
    try:
        rectification = rating.rectification
    except Rectification.DoesNotExist:
        rectification = None
    department = rating.department
    return render(
        request,
        "evaluation/rating_detail.html",
        {
            "rating": rating,
            "rectification": rectification,
            "may_handle": actor_has_role(
                request.user, roles=(Role.REVIEWER, Role.DEPARTMENT_HEAD), department=department
            ),
            "may_approve": actor_has_role(
                request.user, roles=(Role.DEPARTMENT_HEAD, Role.CITY_ADMIN), department=department
            )
            and rating.invalid_requested_by_id != request.user.pk,
            "Validity": RatingValidity,
        },
    )


@login_required
@require_POST
def rating_action(request: HttpRequest, rating_id: int, action: str) -> HttpResponse:
    """The staff's forms: rectification steps and the two-person invalidation."""
    _staff_or_404(request)
    try:
        rating = selectors.rating_get(actor=request.user, rating_id=rating_id)
        text = request.POST.get("text", "")
        rectification_id = getattr(getattr(rating, "rectification", None), "pk", None)
        if action in ("verify", "contact", "complete") and rectification_id is None:
            raise NotFound(code="rectification_not_found")
        if action == "verify":
            services.rectification_verify(actor=request.user, rectification_id=rectification_id, finding=text)
        elif action == "contact":
            services.rectification_contact(actor=request.user, rectification_id=rectification_id, note=text)
        elif action == "complete":
            services.rectification_complete(actor=request.user, rectification_id=rectification_id, measures=text)
        elif action == "invalid":
            services.rating_invalid_request(actor=request.user, rating_id=rating.pk, reason=text)
        elif action == "decide":
            services.rating_invalid_decide(
                actor=request.user, rating_id=rating.pk, approve=request.POST.get("approve") == "1"
            )
        else:
            raise Http404
    except NotFound as exc:
        raise Http404 from exc
    except Rectification.DoesNotExist as exc:
        raise Http404 from exc
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已保存。"))
    return redirect("evaluation_workbench:rating", rating_id=rating_id)


@login_required
def export(request: HttpRequest) -> HttpResponse:
    """The figures as an Excel workbook: one sheet per grouping, and the ratings."""
    from openpyxl import Workbook

    _staff_or_404(request)
    month = _month(request) or None
    book = Workbook()
    book.remove(book.active)
    titles = {"item": _("按事项"), "department": _("按部门"), "window": _("按窗口"), "staff": _("按工作人员")}
    header = [
        _("名称"),
        _("评价数"),
        _("好评"),
        _("差评"),
        _("好评率"),
        _("差评整改数"),
        _("已整改"),
        _("差评整改率"),
        _("超期"),
    ]
    for group in selectors.GROUPS:
        sheet = book.create_sheet(str(titles[group]))
        sheet.append([str(h) for h in header])
        stats = selectors.rating_stats(actor=request.user, group=group, month=month)
        for row in [*stats["rows"], {**stats["total"], "name": str(_("合计"))}]:
            sheet.append(
                [
                    _cell(str(row["name"])),
                    row["total"],
                    row["good"],
                    row["bad"],
                    row["good_rate"],
                    row["rectifications"],
                    row["rectified"],
                    row["rectification_rate"],
                    row["overdue"],
                ]
            )
    sheet = book.create_sheet(str(_("评价明细")))
    sheet.append([str(h) for h in (_("办件编号"), _("事项"), _("部门"), _("等级"), _("渠道"), _("时间"), _("有效性"))])
    ratings = selectors.rating_list(actor=request.user)
    if month:
        since, until = selectors._month_bounds(month)
        ratings = ratings.filter(rated_at__gte=since, rated_at__lt=until)
    for rating in ratings[:50000]:
        sheet.append(
            [
                rating.case_number,
                _cell(rating.item_name),
                _cell(rating.department.name),
                str(rating.get_level_display()),
                str(rating.get_channel_display()),
                rating.rated_at.astimezone().replace(tzinfo=None),
                str(rating.get_validity_display()),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="ratings-{month or "all"}.xlsx"'
    return response


def _cell(text: str) -> str:
    """No formula injection: a cell that would start a formula is written as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@login_required
def metrics(request: HttpRequest) -> HttpResponse:
    """Service metrics computed from the cases, with charts (ECharts from the app's own static)."""
    _staff_or_404(request)
    month = _month(request)
    by_department = selectors.service_metrics(actor=request.user, group="department", month=month or None)
    by_item = selectors.service_metrics(actor=request.user, group="item", month=month or None)
    year = (month or "")[:4] or None
    by_month = selectors.service_metrics(actor=request.user, group="month", month=year)
    chart = {
        "months": [row["name"] for row in by_month["rows"]],
        "series": {
            key: [row[key] for row in by_month["rows"]]
            for key in ("immediate_rate", "online_end_to_end_rate", "at_most_one_visit_rate", "good_rate")
        },
        "labels": {
            "immediate_rate": str(_("即办件比例")),
            "online_end_to_end_rate": str(_("全程网办率")),
            "at_most_one_visit_rate": str(_("最多跑一次")),
            "good_rate": str(_("好评率")),
        },
        "departments": [row["name"] for row in by_department["rows"]],
        "avg_handling_days": [row["avg_handling_days"] for row in by_department["rows"]],
        "p90_handling_days": [row["p90_handling_days"] for row in by_department["rows"]],
        "handling_labels": [str(_("平均办理时间(工作日)")), str(_("P90 办理时间(工作日)"))],
    }
    return render(
        request,
        "evaluation/metrics.html",
        {"by_department": by_department, "by_item": by_item, "month": month, "chart": chart},
    )


@login_required
def case_qr(request: HttpRequest, case_id: int) -> HttpResponse:
    """The QR code the window shows or prints for a concluded case: scanning it opens the case's
    rating page on the applicant's phone (a signed link; the applicant signs in)."""
    _staff_or_404_or_window(request)
    try:
        case = cases_selectors.case_get(actor=request.user, case_id=case_id)
    except NotFound as exc:
        raise Http404 from exc
    url = settings.SITE_URL.rstrip("/") + reverse("evaluation:qr", args=[services.rating_qr_token(case_id=case.pk)])
    svg = segno.make(url, error="m").svg_inline(scale=5, dark="#000", light="#fff", title=str(_("扫码评价")))
    return render(request, "evaluation/case_qr.html", {"case": case, "svg": svg, "url": url})


def _staff_or_404_or_window(request) -> None:
    if request.user.is_superuser or selectors.is_evaluation_staff(actor=request.user):
        return
    if actor_has_role(request.user, roles=(Role.WINDOW_CLERK,)):
        return
    raise Http404
