"""`yiwang restore`: bring a `yiwang backup` archive back on a fresh install, then verify it.

yiwang restore var/backups/yiwang-20270101T020000Z.ywbk
yiwang restore ARCHIVE --replace              overwrite a database that already has tables
yiwang restore ARCHIVE --export-keys keys.env write the archive's keys as environment lines, restore nothing
After the restore, `yiwang integrity` runs in a fresh process (with the restored keys): the audit
chain, every license signature and every file's hash against the archive's manifest.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.backup import KEY_ENV, KEY_NAMES, BackupError, backup_keys, backup_restore
from yiwang.core.management.commands.backup import read_passphrase


class Command(BaseCommand):
    help = "Restore a `yiwang backup` archive (database, stored files, keys) and verify the result."

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument("--passphrase-file", help="file holding the passphrase (else YIWANG_BACKUP_PASSPHRASE)")
        parser.add_argument("--replace", action="store_true", help="overwrite a database that already has tables")
        parser.add_argument("--export-keys", metavar="FILE", help="only write the archive's keys to FILE (0600)")
        parser.add_argument("--no-verify", action="store_true", help="skip `yiwang integrity` after the restore")

    def handle(self, *args, archive, passphrase_file, replace, export_keys, no_verify, **options):
        passphrase = read_passphrase(passphrase_file, confirm=False)
        try:
            if export_keys:
                keys = backup_keys(archive=Path(archive), passphrase=passphrase)
                path = Path(export_keys)
                path.touch(mode=0o600)
                path.write_text("".join(f"{KEY_ENV[name]}={keys[name]}\n" for name in KEY_NAMES))
                self.stdout.write(_("密钥已写入 %(path)s(权限 0600)") % {"path": path})
                return
            report = backup_restore(archive=Path(archive), passphrase=passphrase, replace=replace)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("已恢复:%(vendor)s 数据库,文件 %(files)d 个,备份时间 %(time)s")
            % {"vendor": report.vendor, "files": report.files, "time": report.manifest.get("created_at")}
        )
        for path in report.keys_written:
            self.stdout.write(_("密钥已写入 %(path)s") % {"path": path})
        for name in report.missing:
            self.stderr.write(_("备份时已缺失的文件(未恢复):%(name)s") % {"name": name})
        if no_verify:
            return
        folder = Path(settings.VAR_DIR) / "backups"
        folder.mkdir(parents=True, exist_ok=True)
        manifest = folder / f"restored-{timezone.now().strftime('%Y%m%dT%H%M%SZ')}.manifest.json"
        manifest.write_text(json.dumps(report.manifest, ensure_ascii=False))
        # A fresh process: this one loaded the keys that were in place before the restore.
        result = subprocess.run(
            [sys.executable, "-m", "yiwang", "integrity", "--manifest", str(manifest)],
            env={**os.environ},
            capture_output=True,
            text=True,
            check=False,
        )
        self.stdout.write(result.stdout.rstrip())
        if result.stderr.strip():
            self.stderr.write(result.stderr.rstrip())
        if result.returncode != 0:
            raise CommandError(_("恢复后的完整性校验未通过"), returncode=1)
