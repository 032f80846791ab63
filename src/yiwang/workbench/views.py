"""Workbench pages (staff). Citizens and enterprise agents get a plain 404: the workbench
does not exist for them, exactly as a forbidden object looks like a missing one."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from yiwang.identity import selectors
from yiwang.identity.models import Department, RoleGrant, User

DEPARTMENTS_SHOWN = 50


def _require_staff(request: HttpRequest) -> None:
    if request.user.kind != User.Kind.STAFF:
        raise Http404


@login_required
def home(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    roles = _roles(request.user)
    departments = _departments(request.user)
    # A city admin covering every township and village may act in hundreds of departments.
    total = departments.count() if hasattr(departments, "count") and callable(departments.count) else len(departments)
    shown = list(departments[:DEPARTMENTS_SHOWN])
    return render(
        request,
        "workbench/home.html",
        {"roles": roles, "departments": shown, "departments_total": total, "departments_more": total - len(shown)},
    )


# TEMPORARY until identity.selectors.roles_for_actor / departments_for_actor land (helper "dept").
def _roles(user):
    if hasattr(selectors, "roles_for_actor"):
        return selectors.roles_for_actor(actor=user)
    return RoleGrant.objects.filter(user=user).select_related("department").order_by("department__path", "role")


def _departments(user):
    if hasattr(selectors, "departments_for_actor"):
        return selectors.departments_for_actor(actor=user)
    return Department.objects.filter(role_grants__user=user).distinct().order_by("path")
