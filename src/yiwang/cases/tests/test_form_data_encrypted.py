"""Application forms are personal data: SM4-GCM ciphertext in the database, a dict in Python."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from yiwang.cases import services
from yiwang.cases.models import Case
from yiwang.cases.tests.factories import FORM, build_world

BEFORE = ("cases", "0006_casestep_channel_kinds")
AFTER = ("cases", "0007_form_data_encrypted")


def _raw(case_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT form_data FROM cases_case WHERE id = %s", [case_id])
        return cursor.fetchone()[0]


@pytest.fixture
def world(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world()


@pytest.mark.django_db
def test_the_form_is_ciphertext_at_rest_and_a_dict_when_read(world):
    case, _created = services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    raw = _raw(case.pk)
    assert raw.startswith("sm4gcm1:") and FORM["business_name"] not in raw
    assert Case.objects.get(pk=case.pk).form_data == FORM
    assert Case.objects.filter(pk=case.pk).values_list("form_data", flat=True).get() == FORM


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_existing_forms_and_unseals_them_on_the_way_back(world):
    case, _created = services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE])
        raw = _raw(case.pk)
        assert (raw if isinstance(raw, dict) else json.loads(raw)) == FORM  # a plain JSON column again
        executor = MigrationExecutor(connection)
        executor.migrate([AFTER])
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert _raw(case.pk).startswith("sm4gcm1:")
    assert Case.objects.get(pk=case.pk).form_data == FORM
