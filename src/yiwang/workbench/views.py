"""Workbench pages (staff). Citizens and enterprise agents get a plain 404: the workbench
does not exist for them, exactly as a forbidden object looks like a missing one."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from yiwang.identity.models import User
from yiwang.identity.selectors import departments_for_actor, roles_for_actor

# A city admin covering every township and village may act in hundreds of departments.
DEPARTMENTS_SHOWN = 50


def _require_staff(request: HttpRequest) -> None:
    if request.user.kind != User.Kind.STAFF:
        raise Http404


@login_required
def home(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    roles = roles_for_actor(actor=request.user)
    departments = departments_for_actor(actor=request.user).order_by("path")
    total = departments.count()
    shown = list(departments[:DEPARTMENTS_SHOWN])
    return render(
        request,
        "workbench/home.html",
        {"roles": roles, "departments": shown, "departments_total": total, "departments_more": total - len(shown)},
    )
