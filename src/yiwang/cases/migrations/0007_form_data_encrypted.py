"""Application forms (``Case.form_data``, ``CaseBundle.form_data``) are personal data: they move from
a JSON column to SM4-GCM ciphertext in a text column. Every row is copied, in batches, then the old
column goes; the reverse copies back."""

from django.db import migrations

import yiwang.core.fields

MODELS = ("case", "casebundle")


def _copy(apps, source: str, target: str) -> None:
    for name in MODELS:
        Model = apps.get_model("cases", name)
        batch = []
        for row in Model.objects.only("pk", source).order_by("pk").iterator(chunk_size=500):
            setattr(row, target, getattr(row, source) or {})
            batch.append(row)
            if len(batch) == 500:
                Model.objects.bulk_update(batch, [target])
                batch = []
        if batch:
            Model.objects.bulk_update(batch, [target])


def seal(apps, schema_editor):
    _copy(apps, "form_data", "form_data_sealed")


def unseal(apps, schema_editor):
    _copy(apps, "form_data_sealed", "form_data")


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_casestep_channel_kinds")]

    operations = [
        *[
            migrations.AddField(
                model_name=name,
                name="form_data_sealed",
                field=yiwang.core.fields.EncryptedJSONField(blank=True, default=dict, verbose_name="申请表"),
            )
            for name in MODELS
        ],
        migrations.RunPython(seal, unseal),
        *[migrations.RemoveField(model_name=name, name="form_data") for name in MODELS],
        *[
            migrations.RenameField(model_name=name, old_name="form_data_sealed", new_name="form_data")
            for name in MODELS
        ],
    ]
