"""Workbench pages (staff). Citizens and enterprise agents get a plain 404: the workbench
does not exist for them, exactly as a forbidden object looks like a missing one."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from yiwang.analytics import selectors as analytics_selectors
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core import health
from yiwang.core.calendar import holiday_missing_message, holiday_years_missing
from yiwang.evaluation import selectors as evaluation_selectors
from yiwang.hotline import selectors as hotline_selectors
from yiwang.identity.models import Role, User
from yiwang.identity.selectors import departments_for_actor, roles_for_actor
from yiwang.oversight import selectors as oversight_selectors
from yiwang.registries.selectors import registries_for_actor

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
        {
            "roles": roles,
            "departments": shown,
            "departments_total": total,
            "departments_more": total - len(shown),
            "tools": _tools(request.user),
            "holiday_warning": _holiday_warning(request.user, roles),
            "holiday_admin": _keeps_holiday_table(request.user),
        },
    )


def _keeps_holiday_table(user) -> bool:
    """The system admin (三员分立) opens the holiday table's admin pages; the superuser flag alone does not."""
    from yiwang.identity.selectors import actor_admin_reaches

    return actor_admin_reaches(user, app_label="core", model_name="holiday")


def _holiday_warning(user, roles) -> str:
    """For those who keep the holiday table (its admin, city administrators): a missing year."""
    keeps_calendar = _keeps_holiday_table(user) or any(g.role == Role.CITY_ADMIN for g in roles)
    if not keeps_calendar:
        return ""
    missing = holiday_years_missing()
    return holiday_missing_message(missing) if missing else ""


def _tools(user) -> list[dict]:
    """Workbench pages this person may use. Each pillar adds its entry here as it arrives."""
    tools = []
    case_roles = ("window_clerk", "reviewer", "department_head", "auditor", "city_admin")
    if user.is_superuser or roles_for_actor(actor=user).filter(role__in=case_roles).exists():
        tools.append(
            {
                "url": reverse("cases_workbench:index"),
                "name": _("办件"),
                "description": _("一窗受理、本部门审查队列（按紧急程度）、决定和送达。"),
            }
        )
    if catalog_selectors.administered_departments(actor=user).exists():
        tools.append(
            {
                "url": reverse("catalog:items"),
                "name": _("事项管理"),
                "description": _("维护本部门的政务服务事项和一件事，导入、导出和发布。"),
            }
        )
    if user.is_superuser or roles_for_actor(actor=user).exists():
        tools.append(
            {
                "url": reverse("licenses_workbench:list"),
                "name": _("电子证照"),
                "description": _("查询、核对和管理本部门签发的电子证照，导入存量证照。"),
            }
        )
    if health.may_see_health_details(user):
        tools.append(
            {
                "url": reverse("workbench:health"),
                "name": _("运行状态"),
                "description": _("数据库、后台工作进程的心跳和定时任务的最近结果。"),
            }
        )
    if registries_for_actor(actor=user):
        tools.append(
            {
                "url": reverse("registries:index"),
                "name": _("基础库"),
                "description": _("本部门作为数源部门维护的基础库数据:查询、导入、变更记录和数据质量。"),
            }
        )
    if user.is_superuser or roles_for_actor(actor=user).exists():
        tools.append(
            {
                "url": reverse("exchange_workbench:home"),
                "name": _("数据共享交换"),
                "description": _("申请和审核共享数据、管理接入系统和授权、核实数据异议。"),
            }
        )
    if evaluation_selectors.is_evaluation_staff(actor=user):
        tools.append(
            {
                "url": reverse("evaluation_workbench:index"),
                "name": _("好差评与服务指标"),
                "description": _("好评率、差评整改、恶意评价认定,以及由办件计算的服务指标。"),
            }
        )
    if hotline_selectors.may_use_workbench(actor=user):
        tools.append(
            {
                "url": reverse("hotline:home"),
                "name": _("12345 热线"),
                "description": _("电话受理、派单、部门办理、回访、考核排名、知识库和热点预警。"),
            }
        )
    if oversight_selectors.may_use_workbench(actor=user):
        tools.append(
            {
                "url": reverse("oversight:list"),
                "name": _("督查督办"),
                "description": _("重点任务红黄绿灯、晒进度、审核催办、节点时间轴和部门月度排名。"),
            }
        )
    if analytics_selectors.has_dashboard(actor=user):
        tools.append(
            {
                "url": reverse("analytics:dashboard"),
                "name": _("数据看板"),
                "description": _("办件、证照、好差评、12345、监管和共享交换的指标图表、大屏和三色预警。"),
            }
        )
    if user.is_staff:
        tools.append(
            {"url": reverse("admin:index"), "name": _("管理后台"), "description": _("部门、用户、角色和系统配置。")}
        )
    return tools


@login_required
def health_page(request: HttpRequest) -> HttpResponse:
    """The operator's health page (superusers, 市级管理员); anyone else gets the plain 404."""
    if not health.may_see_health_details(request.user):
        raise Http404
    result = health.health_check()
    return render(
        request,
        "workbench/health.html",
        {"health": result, "heartbeat_seconds": health.heartbeat_seconds()},
        status=503 if result.status == "unavailable" else 200,
    )
