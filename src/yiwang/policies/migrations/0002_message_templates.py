"""The 精准推送 notification in the message centre (created when missing; an operator's edits stay)."""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

TEMPLATES = [
    (
        "policies.eligible",
        "惠企政策精准推送(企业)",
        {
            "in_app": (
                "您可享受:{{ benefit }}",
                "根据《{{ policy }}》,贵单位符合“{{ benefit }}”的条件({{ mode }},{{ amount }} 元)。依据:{{ reasons }}",
            )
        },
    ),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0001_policies_benefits_awards"),
        ("messaging", "0002_seed_templates"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
