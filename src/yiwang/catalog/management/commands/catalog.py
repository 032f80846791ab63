"""yiwang catalog import FILE [--publish] | export --format yaml|json|xlsx FILE | template FILE"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yiwang.catalog.importer import (
    FORMATS,
    CatalogImportFailed,
    catalog_document,
    catalog_import,
    detect_format,
    render_document,
    template_workbook,
)
from yiwang.identity.models import User


class Command(BaseCommand):
    help = "Import or export the service catalog (YAML, JSON or Excel); imports are all-or-nothing."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import a .yaml/.yml/.json/.xlsx file (all-or-nothing)")
        imp.add_argument("file")
        imp.add_argument("--publish", action="store_true", help="publish every item and life event that changed")
        imp.add_argument("--user", help="act as this admin (default: the platform itself)")
        exp = sub.add_parser("export", help="export the catalog")
        exp.add_argument("file", help="output file, '-' for standard output (yaml/json)")
        exp.add_argument("--format", choices=FORMATS, help="default: from the file name")
        exp.add_argument("--published-only", action="store_true", help="current published versions only")
        exp.add_argument("--user", help="export the departments this admin maintains")
        tpl = sub.add_parser("template", help="write the blank Excel template")
        tpl.add_argument("file")

    def _actor(self, username):
        if not username:
            return None
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        return user

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _import(self, *, file, publish, user, **_options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在：{file}")
        try:
            report = catalog_import(
                actor=self._actor(user), content=path.read_bytes(), filename=path.name, publish=publish
            )
        except CatalogImportFailed as exc:
            for line in exc.errors:
                self.stderr.write(line)
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(report.summary())

    def _export(self, *, file, format, published_only, user, **_options):
        fmt = format or detect_format(file)
        if fmt is None:
            raise CommandError("use --format yaml|json|xlsx or a file name ending in .yaml, .json or .xlsx")
        data = render_document(catalog_document(actor=self._actor(user), published_only=published_only), fmt=fmt)
        if file == "-":
            if fmt == "xlsx":
                raise CommandError("an Excel workbook cannot be written to standard output")
            sys.stdout.write(data.decode())
            return
        Path(file).write_bytes(data)
        self.stdout.write(f"wrote {file}")

    def _template(self, *, file, **_options):
        Path(file).write_bytes(template_workbook())
        self.stdout.write(f"wrote {file}")
