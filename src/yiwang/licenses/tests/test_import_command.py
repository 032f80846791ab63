"""Excel import of paper licenses (all-or-nothing, every error located) and the operator command."""

import io

import pytest
from django.core.management import call_command
from openpyxl import Workbook, load_workbook

from yiwang.core.errors import ValidationFailed
from yiwang.licenses.importer import license_import, template_workbook
from yiwang.licenses.models import License
from yiwang.licenses.services import seal_ensure
from yiwang.licenses.tests.factories import HOLDER_ID, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


HEADER = ["持证主体名称", "证件号码", "颁发日期", "有效期至", "名称", "经营范围", "经营场所"]


def test_template_headers(world):
    ws = load_workbook(io.BytesIO(template_workbook(world.business_license))).active
    assert [c.value for c in ws[1]] == [
        "持证主体名称",
        "证件号码",
        "颁发日期",
        "有效期至",
        "名称",
        "经营范围",
        "经营场所",
        "组成形式",
    ]


def test_import_is_all_or_nothing_with_every_error_located(world):
    content = _xlsx(
        [
            HEADER,
            ["张小三", HOLDER_ID, "2019-05-01", None, "小三面馆", "餐饮", "枫桥路1号"],
            ["李四", "110105199001010000", "2019-05-01", None, "李四商店", "零售", "枫桥路2号"],
            ["王五", HOLDER_ID, "去年", None, "王五店", "零售", "枫桥路3号"],
            ["赵六", HOLDER_ID, "2020-01-01", None, None, "零售", "枫桥路4号"],
        ]
    )
    with pytest.raises(ValidationFailed) as exc:
        license_import(
            actor=world.reviewer, license_type=world.business_license, issuer_department=world.market, content=content
        )
    fields = exc.value.fields
    assert set(fields) == {"第3行", "第4行", "第5行"}
    assert fields["第3行"][0].startswith("证件号码:")
    assert "颁发日期" in fields["第4行"][0]
    assert fields["第5行"] == ["名称:请填写「名称」"]
    assert not License.objects.exists()
    good = _xlsx([HEADER, ["张小三", HOLDER_ID, "2019-05-01", None, "小三面馆", "餐饮", "枫桥路1号"]])
    result = license_import(
        actor=world.reviewer, license_type=world.business_license, issuer_department=world.market, content=good
    )
    (lic,) = result.licenses
    assert lic.issue_date.isoformat() == "2019-05-01" and lic.history.get().reason == "存量证照导入"
    assert lic.identifier.split(".")[-3] == "00000001"  # the failed import used no serial numbers


def test_not_an_excel_file(world):
    with pytest.raises(ValidationFailed) as exc:
        license_import(
            actor=world.reviewer, license_type=world.business_license, issuer_department=world.market, content=b"x"
        )
    assert "Excel" in str(exc.value.message)


def test_command_root_cert_rotate_verify_expire(world, tmp_path):
    seal_ensure(department=world.market)
    out = io.StringIO()
    call_command("licenses", "root-cert", stdout=out)
    assert out.getvalue().startswith("-----BEGIN CERTIFICATE-----")
    out = io.StringIO()
    call_command("licenses", "rotate", "SZ-SJJ", stdout=out)
    assert "key version 2" in out.getvalue()
    path = tmp_path / "in.xlsx"
    path.write_bytes(_xlsx([HEADER, ["张小三", HOLDER_ID, "2019-05-01", None, "小三面馆", "餐饮", "枫桥路1号"]]))
    out = io.StringIO()
    call_command("licenses", "import", "business_license_individual", "SZ-SJJ", str(path), stdout=out)
    identifier = License.objects.get().identifier
    assert identifier in out.getvalue()
    out = io.StringIO()
    call_command("licenses", "verify", identifier, stdout=out)
    assert out.getvalue().startswith("valid")
    out = io.StringIO()
    call_command("licenses", "expire", stdout=out)
    assert "expired: 0" in out.getvalue()
