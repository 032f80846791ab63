"""`yiwang licenses`: operator commands for electronic licenses and seals.

yiwang licenses expire                     mark licenses past their validity as expired (run daily)
yiwang licenses root-cert [-o root.pem]    the platform root certificate (trust anchor for PDF validators)
yiwang licenses rotate DEPT_CODE           new key version for a department's seal (old licenses stay valid)
yiwang licenses verify IDENTIFIER          verify one license (status, dates, SM2 signature)
yiwang licenses import TYPE DEPT FILE.xlsx import existing licenses, all-or-nothing
yiwang licenses template TYPE -o FILE.xlsx the Excel template for a license type
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yiwang.core.errors import YiwangError
from yiwang.identity.models import Department
from yiwang.licenses import importer, selectors, services
from yiwang.licenses.models import LicenseType, Seal

ACTOR = "command:licenses"


class Command(BaseCommand):
    help = "Electronic licenses: expire, root certificate, seal key rotation, verify, Excel import."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("expire", help="mark licenses past their validity as expired")
        root = sub.add_parser("root-cert", help="print or write the platform root certificate (PEM)")
        root.add_argument("-o", "--output", type=Path)
        rotate = sub.add_parser("rotate", help="rotate a department seal's keys")
        rotate.add_argument("department")
        verify = sub.add_parser("verify", help="verify a license identifier")
        verify.add_argument("identifier")
        imp = sub.add_parser("import", help="import existing licenses from Excel (all-or-nothing)")
        imp.add_argument("license_type")
        imp.add_argument("department")
        imp.add_argument("file", type=Path)
        tpl = sub.add_parser("template", help="write the Excel template of a license type")
        tpl.add_argument("license_type")
        tpl.add_argument("-o", "--output", type=Path, required=True)

    def handle(self, *args, action, **options):
        try:
            return getattr(self, "handle_" + action.replace("-", "_"))(**options)
        except YiwangError as exc:
            lines = [str(exc.message)] + [f"  {k}: {'; '.join(map(str, v))}" for k, v in exc.fields.items()]
            raise CommandError("\n".join(lines)) from exc

    def _type(self, code: str) -> LicenseType:
        lt = LicenseType.objects.filter(code=code).first()
        if lt is None:
            raise CommandError(f"未找到证照类型 {code}")
        return lt

    def _department(self, code: str) -> Department:
        dept = Department.objects.filter(code=code).first()
        if dept is None:
            raise CommandError(f"未找到部门 {code}")
        return dept

    def handle_expire(self, **options):
        self.stdout.write(f"expired: {services.licenses_expire_due()}")

    def handle_root_cert(self, *, output, **options):
        pem = services.platform_ca().certificate_pem
        if output:
            output.write_text(pem)
            self.stdout.write(f"wrote {output}")
        else:
            self.stdout.write(pem, ending="")

    def handle_rotate(self, *, department, **options):
        seal = Seal.objects.filter(department=self._department(department)).first()
        if seal is None:
            raise CommandError(f"部门 {department} 没有电子印章")
        key = services.seal_rotate_key(actor=ACTOR, seal=seal)
        self.stdout.write(f"{seal.name}: key version {key.version}")

    def handle_verify(self, *, identifier, **options):
        result = selectors.license_verify(identifier=identifier)
        self.stdout.write(f"{result.result}: {result.message}")
        for reason in result.reasons:
            self.stdout.write(f"  {reason}")
        if result.result != "valid":
            raise SystemExit(1)

    def handle_import(self, *, license_type, department, file, **options):
        result = importer.license_import(
            actor=ACTOR,
            license_type=self._type(license_type),
            issuer_department=self._department(department),
            content=file.read_bytes(),
        )
        self.stdout.write(result.summary())
        for lic in result.licenses:
            self.stdout.write(f"  {lic.identifier}")

    def handle_template(self, *, license_type, output, **options):
        output.write_bytes(importer.template_workbook(self._type(license_type)))
        self.stdout.write(f"wrote {output}")
