"""The messages of policy objections (created when missing; an operator's edits stay)."""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

TEMPLATES = [
    (
        "policies.objection",
        "惠企政策异议待处理(部门)",
        {"in_app": ("政策异议待处理:{{ benefit }}", "有企业对“{{ benefit }}”提出异议,请在 {{ due }} 前答复。")},
        "service",
    ),
    (
        "policies.objection_answered",
        "惠企政策异议答复(企业)",
        {"in_app": ("异议已答复:{{ benefit }}", "您对“{{ benefit }}”的异议:{{ status }}。答复:{{ answer }}")},
        "service",
    ),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0003_rules_as_tables_instant_objections"),
        ("messaging", "0003_delivery_claim_kind_preferences"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
