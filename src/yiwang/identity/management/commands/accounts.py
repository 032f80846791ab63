"""`yiwang accounts`: account housekeeping for operators.

yiwang accounts dormant --days 180              list staff accounts not used for 180 days
yiwang accounts dormant --days 180 --deactivate deactivate them (audited as user.deactivate)
yiwang accounts dormant --days 365 --all-kinds  include citizens and enterprise agents
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.core.errors import ValidationFailed
from yiwang.identity.services import user_deactivate_dormant


class Command(BaseCommand):
    help = "Account housekeeping: list or deactivate dormant accounts (等保: 停用多余、过期的账户)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        dormant = sub.add_parser("dormant", help="accounts not signed in for --days days")
        dormant.add_argument("--days", type=int, default=180)
        dormant.add_argument("--deactivate", action="store_true", help="deactivate them (default: only list)")
        dormant.add_argument("--all-kinds", action="store_true", help="not only staff accounts")

    def handle(self, *args, action, **options):
        if action == "dormant":
            return self.handle_dormant(**options)
        raise CommandError(action)  # pragma: no cover

    def handle_dormant(self, *, days, deactivate, all_kinds, **options):
        try:
            users = user_deactivate_dormant(
                actor="command:accounts", days=days, staff_only=not all_kinds, dry_run=not deactivate
            )
        except ValidationFailed as exc:
            raise CommandError(_("--days 须为正整数")) from exc
        for user in users:
            last = user.last_login.strftime("%Y-%m-%d") if user.last_login else _("从未登录")
            self.stdout.write(f"{user.username}\t{user.get_kind_display()}\t{last}")
        if deactivate:
            self.stdout.write(_("已停用 %(n)d 个账号。") % {"n": len(users)})
        else:
            self.stdout.write(
                _("共 %(n)d 个账号超过 %(days)d 天未登录;加 --deactivate 停用。") % {"n": len(users), "days": days}
            )
