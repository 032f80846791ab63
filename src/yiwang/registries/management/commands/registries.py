"""yiwang registries import|template|sources|quality — operators' tools for the base registries."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yiwang.core.errors import YiwangError
from yiwang.identity.models import Department, User
from yiwang.registries import importer, quality, schema, selectors, services

SYSTEM_ACTOR = "command:registries"


class Command(BaseCommand):
    help = "Import into a base registry (Excel/CSV, all-or-nothing), write its template, set sources, refresh quality."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import an .xlsx or .csv file into a registry (all-or-nothing)")
        imp.add_argument("registry", choices=[n for n, s in schema.REGISTRIES.items() if s.writable])
        imp.add_argument("file")
        who = imp.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="act as this member of the source department's staff")
        who.add_argument(
            "--signed-off-by",
            metavar="DEPARTMENT_CODE",
            help="import as the platform a file this department signed off (only its fields may change)",
        )
        tpl = sub.add_parser("template", help="write the registry's blank Excel template")
        tpl.add_argument("registry", choices=list(schema.REGISTRIES))
        tpl.add_argument("file")
        src = sub.add_parser("sources", help="list the source department of every field, or set some")
        src.add_argument(
            "--set",
            dest="assignments",
            nargs="*",
            default=[],
            metavar="REGISTRY.FIELD=DEPARTMENT_CODE",
            help="e.g. population.marital_status=SFS-MZJ; REGISTRY.*=CODE sets every field of a registry",
        )
        qa = sub.add_parser("quality", help="recompute the data-quality reports now")
        qa.add_argument("registry", nargs="*", help="default: every registry")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except YiwangError as exc:
            for name, messages in exc.fields.items():
                for message in messages:
                    self.stderr.write(f"{name}: {message}")
            raise CommandError(str(exc.message)) from exc

    def _import(self, *, registry, file, user, signed_off_by, **_options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在:{file}")
        department = None
        actor = SYSTEM_ACTOR
        if user:
            actor = User.objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"没有启用中的用户 {user!r}")
        else:
            department = Department.objects.filter(code=signed_off_by, is_active=True).first()
            if department is None:
                raise CommandError(f"没有启用中的部门 {signed_off_by!r}")
        result = importer.records_import(
            actor=actor, registry=registry, content=path.read_bytes(), filename=path.name, signed_off_by=department
        )
        self.stdout.write(f"{schema.REGISTRIES[registry].label}:{result.summary()}(批次 {result.batch})")

    def _template(self, *, registry, file, **_options):
        Path(file).write_bytes(importer.template_workbook(registry))
        self.stdout.write(f"已写入 {file}")

    def _sources(self, *, assignments, **_options):
        for assignment in assignments:
            target, _sep, code = assignment.partition("=")
            registry, _dot, field = target.partition(".")
            department = Department.objects.filter(code=code, is_active=True).first()
            if department is None:
                raise CommandError(f"没有启用中的部门 {code!r}")
            spec = schema.REGISTRIES.get(registry)
            if spec is None:
                raise CommandError(f"没有基础库 {registry!r}")
            names = [f.name for f in spec.fields] if field == "*" else [field]
            for name in names:
                services.registry_field_source_set(
                    actor=SYSTEM_ACTOR, registry=registry, field=name, department=department
                )
        services.registry_fields_ensure()
        departments = Department.objects.in_bulk()
        for info in selectors.registry_fields():
            if info.registry == "license":
                continue
            source = departments.get(info.source_department_id)
            where = f"{source.code} {source.name}" if source else "(未设定)"
            self.stdout.write(f"{info.registry}.{info.field}\t{info.label}\t{where}")

    def _quality(self, *, registry, **_options):
        for report in quality.quality_refresh(registries=registry or None):
            who = report.department.name if report.department_id else "全库"
            counts = f"记录 {report.records}\t问题记录 {report.failing_records}"
            self.stdout.write(f"{report.registry}\t{who}\t得分 {report.score}\t{counts}")
