"""The 三色预警 notification template (created when missing; an operator's edits are kept).
Variables: indicator, scope, level, value, yellow, red (docs/dashboards.md)."""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

TEMPLATES = [
    (
        "analytics.threshold_crossed",
        "指标越过预警阈值(责任人)",
        {
            "in_app": (
                "{{ level }}色预警:{{ scope }} {{ indicator }}",
                "{{ scope }}的“{{ indicator }}”为 {{ value }},已达到{{ level }}色预警"
                "(黄色阈值 {{ yellow }},红色阈值 {{ red }})。请及时研判处置。",
            ),
            "email": (
                "【一网】{{ level }}色预警:{{ scope }} {{ indicator }}",
                "{{ recipient_name }},您好:\n\n{{ scope }}的“{{ indicator }}”为 {{ value }},"
                "已达到{{ level }}色预警(黄色阈值 {{ yellow }},红色阈值 {{ red }})。请及时研判处置。\n\n"
                "(本邮件由系统自动发送,请勿回复)",
            ),
        },
    ),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("messaging", "0002_seed_templates"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
