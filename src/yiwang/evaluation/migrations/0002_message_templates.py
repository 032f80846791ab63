"""The 好差评 notification templates in the message centre (created when missing; an operator's
edits are never overwritten). Variables: number, item_name, level, due_date (docs/evaluation.md)."""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

LINK = "{{ site_url }}{{ url }}"
CASE = "{{ item_name }}(办件编号 {{ number }})"

# (code, name, {channel: (subject, body)})
TEMPLATES = [
    (
        "evaluation.rectification_opened",
        "收到差评,请整改(部门)",
        {
            "in_app": (
                "收到差评:{{ number }}",
                CASE + "收到“{{ level }}”评价,请核实、联系申请人,并于 {{ due_date }} 前完成整改。",
            ),
            "email": (
                "【一网】收到差评:{{ number }}",
                "{{ recipient_name }},您好:\n\n" + CASE + "收到“{{ level }}”评价,请核实、联系申请人,"
                "并于 {{ due_date }} 前完成整改。\n\n" + LINK + "\n\n(本邮件由系统自动发送,请勿回复)",
            ),
        },
    ),
    (
        "evaluation.rectification_reminder",
        "差评整改临近期限(部门)",
        {
            "in_app": ("差评整改临近期限:{{ number }}", CASE + "的差评整改期限为 {{ due_date }},请抓紧办理。"),
            "email": (
                "【一网】差评整改临近期限:{{ number }}",
                "{{ recipient_name }},您好:\n\n" + CASE + "的差评整改期限为 {{ due_date }},请抓紧办理。\n\n" + LINK,
            ),
        },
    ),
    (
        "evaluation.rectification_overdue",
        "差评整改超期(督办)",
        {
            "in_app": ("差评整改已超期:{{ number }}", CASE + "的差评整改已超过期限 {{ due_date }},请立即整改并说明情况。"),
            "email": (
                "【一网】差评整改已超期:{{ number }}",
                "{{ recipient_name }},您好:\n\n" + CASE + "的差评整改已超过期限 {{ due_date }},"
                "请立即整改并说明情况。\n\n" + LINK,
            ),
            "sms": ("差评整改超期", "办件{{ number }}({{ item_name }})差评整改已超过期限{{ due_date }},请立即办理。"),
        },
    ),
    (
        "evaluation.rectified",
        "差评已整改,邀请再评价(申请人)",
        {
            "in_app": (
                "您的评价已整改:{{ number }}",
                "您对" + CASE + "的评价,办理部门已完成整改。欢迎您再次评价。",
            ),
        },
    ),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation", "0001_ratings_rectifications"),
        ("messaging", "0002_seed_templates"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
