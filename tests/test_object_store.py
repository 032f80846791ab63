"""Case materials in a real S3-compatible object store (SeaweedFS, started by the ``object_store``
fixture in the root conftest): stored, read back, downloaded through the app's permission check,
never readable anonymously, and swept by the orphan purge exactly as on a local disk."""

import datetime
import urllib.error
import urllib.request

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from yiwang.cases import services
from yiwang.cases.models import CaseMaterial
from yiwang.cases.tests.factories import FORM, build_world
from yiwang.core.storage import ObjectStorage

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def world(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world()


def _client(store):
    return boto3.client(
        "s3",
        endpoint_url=store["endpoint_url"],
        aws_access_key_id=store["access_key"],
        aws_secret_access_key=store["secret_key"],
        region_name=store["region"],
    )


def _submit(world, *, key="k", materials):
    return services.case_submit(
        actor=world.applicant, item=world.market_item, form_data=FORM, idempotency_key=key, materials=materials
    )[0]


def _upload(world, content=PDF, filename="a.pdf"):
    requirement = world.market_item.current_version.materials.get(name="个体工商户登记申请书")
    return services.MaterialUpload(requirement_id=requirement.pk, filename=filename, content=content)


def test_materials_are_private_objects_downloaded_only_through_the_app(world, object_store_settings, client):
    case = _submit(world, materials=[_upload(world)])
    material = case.materials.get()
    storage = CaseMaterial._meta.get_field("file").storage
    assert isinstance(storage._wrapped, ObjectStorage)  # the model's field follows the setting
    key = f"{storage.location}/{material.file.name}"
    stored = _client(object_store_settings).get_object(Bucket=object_store_settings["bucket"], Key=key)
    assert stored["Body"].read() == PDF
    assert material.file.name.startswith(f"cases/{case.pk}/") and material.file.name.endswith(".pdf")

    # Anonymous: the object store refuses; the app is the only way in.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{object_store_settings['endpoint_url']}/{object_store_settings['bucket']}/{key}")  # noqa: S310
    assert refused.value.code == 403

    url = f"/cases/{case.pk}/materials/{material.pk}/"
    client.force_login(world.other_citizen)
    assert client.get(url).status_code == 404
    client.force_login(world.applicant)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"


def test_the_same_bytes_twice_in_one_case_do_not_overwrite_each_other(world, object_store_settings):
    case = _submit(world, materials=[_upload(world)])
    second = services.case_material_add(
        actor=world.applicant, case_id=case.pk, requirement_id=None, filename="b.pdf", content=PDF, name="副本"
    )
    names = set(case.materials.values_list("file", flat=True))
    assert len(names) == 2 and second.file.name in names
    assert all(default_storage.open(name).read() == PDF for name in names)


def test_the_orphan_purge_lists_and_ages_objects_in_the_store(world, object_store_settings):
    kept = _submit(world, materials=[_upload(world)])
    orphan = default_storage.save(f"cases/{kept.pk}/{'f' * 32}.png", ContentFile(PNG))
    bundle_orphan = default_storage.save(f"cases/bundles/77/{'e' * 32}.pdf", ContentFile(PDF))
    assert services.case_material_orphans_purge()["removed"] == []  # too young: may be in flight
    later = timezone.now() + datetime.timedelta(hours=7)
    result = services.case_material_orphans_purge(now=later)
    assert sorted(result["removed"]) == sorted([orphan, bundle_orphan]) and result["scanned"] == 3
    assert not default_storage.exists(orphan) and not default_storage.exists(bundle_orphan)
    assert default_storage.open(kept.materials.get().file.name).read() == PDF


def test_a_missing_object_behaves_like_a_missing_file(object_store_settings):
    with pytest.raises(FileNotFoundError):
        default_storage.get_modified_time("cases/0/missing.pdf")
    with pytest.raises(FileNotFoundError):
        default_storage.size("cases/0/missing.pdf")
    assert default_storage.listdir("cases/nothing-here") == ([], [])
