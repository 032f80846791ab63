"""`yiwang integrity`: run every app's integrity checks (audit chain, license signatures, …).

yiwang integrity                          all checks
yiwang integrity --check core.audit_chain one of them
yiwang integrity --manifest M.json        also every file of a backup manifest, by SM3 hash
Exit 1 when any check finds a problem.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yiwang.core.integrity import files_against_manifest, run_checks


class Command(BaseCommand):
    help = "Run the integrity checks of every app; exit 1 if any fails."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="append", default=[], metavar="NAME", help="run only this check")
        parser.add_argument("--manifest", help="a backup manifest whose files must be in storage, unchanged")

    def handle(self, *args, check, manifest, **options):
        try:
            results = run_checks(check or None)
        except KeyError as exc:
            raise CommandError(_("未知的校验项:%(names)s") % {"names": exc.args[0]}) from exc
        if manifest:
            try:
                data = json.loads(Path(manifest).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(_("无法读取清单:%(error)s") % {"error": exc}) from exc
            results.append(files_against_manifest(data))
        failed = False
        for result in results:
            status = _("通过") if result.ok else _("未通过")
            self.stdout.write(f"{result.name}: {status} ({_('已校验')} {result.checked})")
            for problem in result.problems[:20]:
                self.stdout.write(f"  - {problem}")
            if len(result.problems) > 20:
                self.stdout.write(_("  … 另有 %(n)d 个问题") % {"n": len(result.problems) - 20})
            failed = failed or not result.ok
        if failed:
            raise CommandError(_("完整性校验未通过"), returncode=1)
