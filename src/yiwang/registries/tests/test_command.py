"""yiwang registries: import as a user or signed off by a department, sources, quality, template."""

import pytest
from django.core.management import CommandError, call_command

from yiwang.registries.models import Person, QualityReport, RecordChange
from yiwang.registries.tests.factories import PERSON_ID, build_world

pytestmark = pytest.mark.django_db


def _csv(tmp_path, text: str):
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_signed_off_by_a_department_applies_its_sources(tmp_path, capsys):
    build_world()
    police = _csv(
        tmp_path,
        f"公民身份号码,姓名,性别,出生日期,户籍地行政区划,户籍地址\n{PERSON_ID},张小三,男,1990-03-07,320505,枫桥路1号\n",
    )
    call_command("registries", "import", "population", police, "--signed-off-by", "SZ-GAJ")
    assert Person.objects.get().name == "张小三"
    change = RecordChange.objects.get()
    assert "苏州市公安局" in change.actor_repr and change.channel == "import"
    civil = _csv(tmp_path, f"公民身份号码,姓名\n{PERSON_ID},张晓三\n")
    with pytest.raises(CommandError):
        call_command("registries", "import", "population", civil, "--signed-off-by", "SZ-MZJ")
    assert "第2行「姓名」" in capsys.readouterr().err
    call_command("registries", "import", "population", civil, "--user", "police_clerk")
    assert Person.objects.get().name == "张晓三"


def test_sources_quality_and_template(tmp_path, capsys):
    build_world()
    call_command("registries", "sources", "--set", "population.phone=SZ-MZJ")
    out = capsys.readouterr().out
    assert "population.phone\t联系电话\tSZ-MZJ 苏州市民政局" in out
    call_command("registries", "quality", "population")
    assert QualityReport.objects.filter(registry="population").exists()
    target = tmp_path / "t.xlsx"
    call_command("registries", "template", "credit", str(target))
    assert target.read_bytes()[:2] == b"PK"
