"""Uploads are checked by their bytes, size-limited, stored under their SM3 digest, shown only to those entitled."""

import io
import zipfile

import pytest

from yiwang.cases import selectors, services
from yiwang.cases.tests.factories import FORM, attach_required
from yiwang.core.crypto import sm3_hex
from yiwang.core.errors import Conflict, NotFound, ValidationFailed

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def ofd(with_root: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("OFD.xml" if with_root else "other.xml", "<ofd:OFD/>")
        archive.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    return buffer.getvalue()


@pytest.fixture
def case(world):
    return services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)[0]


def requirement(world, name="个体工商户登记申请书"):
    return world.market_item.current_version.materials.get(name=name)


def test_types_are_detected_by_content_not_name(world, case):
    req = requirement(world)
    for content, expected in (
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (ofd(), "application/ofd"),
    ):
        material = services.case_material_add(
            actor=world.applicant, case_id=case.pk, requirement_id=req.pk, filename="scan.pdf", content=content
        )
        assert material.content_type == expected and material.sm3 == sm3_hex(content)
        assert material.file.read() == content and "scan" not in material.file.name
    assert case.materials.count() == 4


@pytest.mark.parametrize("content", [b"MZ\x90\x00 not a document", ofd(with_root=False), b"PK\x03\x04broken"])
def test_a_bad_file_names_the_material_and_the_problem(world, case, content):
    with pytest.raises(ValidationFailed) as exc:
        services.case_material_add(
            actor=world.applicant,
            case_id=case.pk,
            requirement_id=requirement(world).pk,
            filename="a.pdf",
            content=content,
        )
    assert "个体工商户登记申请书" in str(exc.value.fields["file"]) and "PDF" in str(exc.value.fields["file"])


def test_size_limit(world, case, settings):
    settings.YIWANG_CASE_MATERIAL_MAX_BYTES = 1024 * 1024
    with pytest.raises(ValidationFailed) as exc:
        services.case_material_add(
            actor=world.applicant,
            case_id=case.pk,
            requirement_id=None,
            filename="big.pdf",
            content=PDF + b"0" * 1024 * 1024,
        )
    assert exc.value.code == "material_too_large" and "1 MB" in str(exc.value.fields["file"])


def test_requirement_must_belong_to_the_version(world, case):
    other = world.police_item.current_version.materials.first()
    with pytest.raises(ValidationFailed):
        services.case_material_add(
            actor=world.applicant, case_id=case.pk, requirement_id=other.pk, filename="a", content=PDF
        )


def test_no_uploads_after_acceptance_and_only_entitled_readers(world, case):
    material = services.case_material_add(
        actor=world.applicant, case_id=case.pk, requirement_id=None, filename="a.pdf", content=PDF
    )
    attach_required(case)
    services.case_accept(actor=world.clerk, case_id=case.pk)
    with pytest.raises(Conflict):
        services.case_material_add(
            actor=world.applicant, case_id=case.pk, requirement_id=None, filename="b", content=PDF
        )
    for reader in (world.applicant, world.reviewer, world.auditor, world.clerk):
        assert selectors.case_material_get(actor=reader, case_id=case.pk, material_id=material.pk) == material
    for stranger in (world.other_citizen, world.police_reviewer):
        with pytest.raises(NotFound):
            selectors.case_material_get(actor=stranger, case_id=case.pk, material_id=material.pk)


def test_orphan_files_of_rolled_back_transactions_are_purged(world, settings, tmp_path):
    """A file written inside a transaction that rolled back further out (here: an outer
    atomic block) has no row; the purge removes it once it is older than the grace period,
    and never touches a file that a row refers to."""
    import datetime

    from django.db import transaction
    from django.utils import timezone

    from yiwang.cases.models import CaseMaterial
    from yiwang.core.models import AuditEvent

    settings.MEDIA_ROOT = tmp_path
    kept = services.case_submit(
        actor=world.applicant,
        item=world.market_item,
        form_data=FORM,
        materials=[services.MaterialUpload(requirement_id=requirement(world).pk, filename="a.pdf", content=PDF)],
    )[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        services.case_submit(
            actor=world.applicant,
            item=world.market_item,
            form_data=FORM,
            idempotency_key="second",
            materials=[services.MaterialUpload(requirement_id=None, filename="b.png", content=PNG, name="照片")],
        )
        raise RuntimeError("the caller fails after the service returned")
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == 2 and CaseMaterial.objects.count() == 1
    assert services.case_material_orphans_purge()["removed"] == []  # too young: may be in flight
    later = timezone.now() + datetime.timedelta(hours=7)
    result = services.case_material_orphans_purge(now=later)
    assert len(result["removed"]) == 1 and result["removed"][0].endswith(".png")
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [kept.materials.get().file.name.split("/")[-1]]
    assert AuditEvent.objects.filter(action="case.material_orphans_purge").count() == 1
    assert services.case_material_orphans_purge(now=later)["removed"] == []


def test_the_orphan_purge_asks_the_database_once_per_batch_not_per_case(
    world, settings, tmp_path, django_assert_num_queries
):
    settings.MEDIA_ROOT = tmp_path
    for n in range(4):
        services.case_submit(
            actor=world.applicant,
            item=world.market_item,
            form_data=FORM,
            idempotency_key=f"k{n}",
            materials=[services.MaterialUpload(requirement_id=None, filename="a.pdf", content=PDF + bytes([n]))],
        )
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 4  # four case folders
    with django_assert_num_queries(1):
        assert services.case_material_orphans_purge()["scanned"] == 4


def test_a_generated_application_form_is_never_asked_for(world, client):
    """Issue #14: a material whose source is ``form`` (the 申请书 the platform writes from the online
    form) has no upload field, is not verified as a license or registry datum, and acceptance does
    not wait for it; the case's 申请书 PDF is there instead."""
    from yiwang.cases.models import CaseEvidence
    from yiwang.cases.tests.factories import publish_item
    from yiwang.catalog.tests.factories import BASE_ITEM

    materials = [
        {**BASE_ITEM["materials"][0], "source": "form"},
        *BASE_ITEM["materials"][1:],
    ]
    item = publish_item(
        world.tree.root, implementation_code="SZ-SCJG-0099", name="个体工商户变更登记", materials=materials
    )
    generated = item.current_version.materials.get(name="个体工商户登记申请书")
    assert generated.is_generated and generated.is_certificate_free

    client.force_login(world.applicant)
    page = client.get(f"/cases/apply/{item.implementation_code}/").content.decode()
    assert f'name="material_{generated.pk}"' not in page and "自动生成申请书" in page

    case, _ = services.case_submit(actor=world.applicant, item=item, form_data=FORM)
    assert selectors.case_missing_materials(case=case) == []
    assert not CaseEvidence.objects.filter(case=case, requirement=generated).exists()
    services.case_accept(actor=world.clerk, case_id=case.pk)  # no "必需材料…尚未提交"
    pdf = client.get(f"/cases/{case.pk}/notices/application.pdf")
    assert pdf.status_code == 200 and b"".join(pdf).startswith(b"%PDF")
