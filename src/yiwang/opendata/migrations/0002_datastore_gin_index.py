"""On PostgreSQL, a GIN index (jsonb_path_ops) on the stored rows, so that datastore_search's
``filters`` (``data @> {"column": value}``) are index lookups instead of a scan of the resource.
SQLite has no such index; there the filters scan (fine at the sizes SQLite serves)."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS opendata_row_data_gin ON opendata_datastorerow USING gin (data jsonb_path_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS opendata_row_data_gin")


class Migration(migrations.Migration):
    dependencies = [("opendata", "0001_open_data")]

    operations = [migrations.RunPython(create, drop)]
