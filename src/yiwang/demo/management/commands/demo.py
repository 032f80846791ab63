"""`yiwang demo`: load the demo city 示范市 (idempotent) and print the demo logins."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import NoReverseMatch, reverse

from yiwang.demo.city import CITY_NAME, DEFAULT_SEED, DEMO_PASSWORD
from yiwang.demo.services import DemoLoadError, LoadReport, Tally, demo_extensions, demo_load

# The logins worth trying first; `--all` lists every account.
HIGHLIGHTS = (
    "sysadmin",
    "city_admin",
    "auditor",
    "spj_clerk",
    "spj_reviewer1",
    "spj_head",
    "spj_admin",
    "scjg_clerk",
    "dyx_admin",
    "dyx_spj_clerk",
    "qsz_clerk",
    "citizen01",
    "citizen02",
    "ent01",
)


def _url(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


class Command(BaseCommand):
    help = "加载示范市演示数据(部门、工作人员、个人和法人用户),可重复运行;结束时列出演示账号。"

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"生成数据的随机种子(默认 {DEFAULT_SEED})")
        parser.add_argument("--all", action="store_true", help="列出全部演示账号,而不只是常用的几个")
        parser.add_argument(
            "--city-only", action="store_true", help="只加载部门和账号,不加载其他应用的演示数据(如事项目录)"
        )

    def handle(self, *args, seed: int, all: bool, city_only: bool, **options):
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("数据库结构不是最新:请先运行 yiwang migrate(make demo 会自动运行)。")
        started = time.monotonic()
        extras: list[tuple[str, object]] = []
        try:
            # One transaction for the city and every app's demo data: all of it or nothing.
            with transaction.atomic():
                report = demo_load(seed=seed)
                for app, module in [] if city_only else demo_extensions():
                    try:
                        extras.append((str(app.verbose_name), module.load(None)))
                    except Exception as exc:
                        raise DemoLoadError(f"加载“{app.verbose_name}”的演示数据失败:{exc}") from exc
        except DemoLoadError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started
        self._summary(report, seed, elapsed)
        for label, result in extras:
            summary = result.summary() if hasattr(result, "summary") else "已加载"
            self.stdout.write(f"  {label}:{summary}")
        self._logins(report, show_all=all)

    def _summary(self, report: LoadReport, seed: int, elapsed: float) -> None:
        write = self.stdout.write
        if report.up_to_date:
            write(self.style.SUCCESS(f"{CITY_NAME}演示数据已是最新(种子 {seed},{elapsed:.1f} 秒)。"))
        elif report.created == 0:
            write(
                self.style.WARNING(
                    f"{CITY_NAME}演示数据已存在,未新建任何内容;有 {report.differing} 项与种子 {seed} 的数据不同,"
                    f"已保留现状({elapsed:.1f} 秒)。如需改用其他种子,请先重置数据库。"
                )
            )
        else:
            write(self.style.SUCCESS(f"{CITY_NAME}演示数据已加载(种子 {seed},{elapsed:.1f} 秒)。"))
        rows: tuple[tuple[str, Tally], ...] = (
            ("部门", report.departments),
            ("账号", report.users),
            ("角色授权", report.grants),
        )
        for label, tally in rows:
            line = f"  {_pad(label, 8)} 新建 {tally.created:>3}  已是最新 {tally.unchanged:>3}"
            if tally.differing:
                line += f"  已被修改(未覆盖) {len(tally.differing)}"
            write(line)
        for label, tally in rows:
            if tally.differing:
                shown = "、".join(tally.differing[:5]) + (" 等" if len(tally.differing) > 5 else "")
                write(self.style.WARNING(f"  注意:{label}与种子数据不同,保留现状:{shown}"))
        write(f"  数据摘要(SM3):{report.city.digest()}")

    def _logins(self, report: LoadReport, *, show_all: bool) -> None:
        write = self.stdout.write
        users = report.city.users if show_all else [report.city.user(name) for name in HIGHLIGHTS]
        login = _url("identity:login", "/")
        write("")
        write(self.style.MIGRATE_HEADING(f"演示账号(密码均为 {DEMO_PASSWORD};登录页 {login})"))
        headers = ("角色", "用户名", "密码", "可以试试")
        width_role = max(_width(headers[0]), *(_width(u.title) for u in users))
        width_name = max(_width(headers[1]), *(_width(u.username) for u in users))
        width_pw = max(_width(headers[2]), _width(DEMO_PASSWORD))
        role, name, password, hint = headers
        write(f"  {_pad(role, width_role)}  {_pad(name, width_name)}  {_pad(password, width_pw)}  {hint}")
        write("  " + "-" * (width_role + width_name + width_pw + 6 + 30))
        for user in users:
            write(
                f"  {_pad(user.title, width_role)}  {_pad(user.username, width_name)}  "
                f"{_pad(DEMO_PASSWORD, width_pw)}  {user.hint}"
            )
        total = len(report.city.users)
        if not show_all:
            write(f"  (共 {total} 个演示账号;运行 yiwang demo --all 列出全部,或见 docs/demo-city.md)")
        write("")
        write(
            self.style.WARNING(
                "提示:系统管理员、市级管理员和部门管理员属于管理员角色,首次登录时须绑定动态口令(TOTP),"
                "请准备手机上的身份验证器应用(如 FreeOTP、Google Authenticator)。"
            )
        )
        write(f"工作人员登录后进入工作台 {_url('workbench:home', '/workbench/')};个人和法人用户进入门户 /。")
        write("重置演示数据:停止服务,删除 var/yiwang.sqlite3,再运行 make demo。")
