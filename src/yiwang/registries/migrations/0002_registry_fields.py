"""One ``RegistryField`` row per field of every writable registry, without a source department:
an operator (or ``yiwang registries sources``, or ``yiwang demo``) then names each field's
source department. Rows for fields added later are created by ``registry_fields_ensure``."""

from django.db import migrations

FIELDS = {
    "population": [
        "id_number", "name", "sex", "birth_date", "region_code", "address", "address_code", "phone",
        "marital_status", "household_id",
    ],
    "legal_entity": [
        "uscc", "name", "kind", "legal_representative", "legal_representative_id_number", "registered_capital",
        "industry_code", "address", "address_code", "region_code", "established_on", "status",
    ],
    "credit": [
        "record_number", "subject_kind", "subject_key", "subject_name", "kind", "content", "authority",
        "decided_on", "valid_from", "valid_to",
    ],
    "spatial": ["code", "text", "region_code", "grid_code", "longitude", "latitude"],
    "economy": ["uscc", "year", "tax_paid", "output_value", "energy_use", "land_area_mu", "employees", "rd_spend"],
}  # fmt: skip


def create(apps, schema_editor):
    RegistryField = apps.get_model("registries", "RegistryField")
    existing = set(RegistryField.objects.values_list("registry", "field"))
    RegistryField.objects.bulk_create(
        [
            RegistryField(registry=registry, field=field)
            for registry, fields in FIELDS.items()
            for field in fields
            if (registry, field) not in existing
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("registries", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
