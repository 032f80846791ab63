"""`yiwang backup`: one consistent, encrypted archive of the database, the stored files and the keys.

yiwang backup                                  writes var/backups/yiwang-<time>.ywbk
yiwang backup --output /mnt/backup/x.ywbk      somewhere else
The passphrase comes from --passphrase-file, else YIWANG_BACKUP_PASSPHRASE, else a prompt.
"""

import getpass
import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.backup import BackupError, backup_create


def read_passphrase(passphrase_file: str | None, *, confirm: bool) -> str:
    """The operator's passphrase: a file, the environment, or (on a terminal) a prompt."""
    if passphrase_file:
        try:
            return Path(passphrase_file).read_text().rstrip("\n")
        except OSError as exc:
            raise CommandError(_("无法读取口令文件:%(error)s") % {"error": exc}) from exc
    if os.environ.get("YIWANG_BACKUP_PASSPHRASE"):
        return os.environ["YIWANG_BACKUP_PASSPHRASE"]
    if not sys.stdin.isatty():
        raise CommandError(_("需要备份口令:用 --passphrase-file 或环境变量 YIWANG_BACKUP_PASSPHRASE 提供"))
    passphrase = getpass.getpass(_("备份口令:"))
    if confirm and getpass.getpass(_("再输入一次:")) != passphrase:
        raise CommandError(_("两次输入的口令不一致"))
    return passphrase


class Command(BaseCommand):
    help = "Write one encrypted backup archive (database, stored files, keys) for `yiwang restore`."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="archive path (default var/backups/yiwang-<time>.ywbk)")
        parser.add_argument("--passphrase-file", help="file holding the passphrase (else YIWANG_BACKUP_PASSPHRASE)")

    def handle(self, *args, output, passphrase_file, **options):
        passphrase = read_passphrase(passphrase_file, confirm=True)
        if not output:
            stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
            output = Path(settings.VAR_DIR) / "backups" / f"yiwang-{stamp}.ywbk"
        try:
            report = backup_create(output=Path(output), passphrase=passphrase)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("备份完成:%(path)s\n数据库 %(vendor)s,审计链头 #%(seq)s,文件 %(files)d 个(%(bytes)d 字节)")
            % {
                "path": report.path,
                "vendor": report.vendor,
                "seq": report.audit_head.get("sequence"),
                "files": report.files,
                "bytes": report.bytes,
            }
        )
        for name in report.missing:
            self.stderr.write(_("备份期间被删除、未纳入的文件:%(name)s") % {"name": name})
