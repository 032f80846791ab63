"""The oversight notification templates in the message centre (created when missing; an
operator's edits are never overwritten). Variables: number, title, deadline, department_name,
milestone, due_date, note (docs/oversight.md)."""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

LINK = "{{ site_url }}{{ url }}"
TASK = "督办任务「{{ title }}」({{ number }})"

# (code, name, {channel: (subject, body)})
TEMPLATES = [
    (
        "oversight.assigned",
        "新的督办任务(牵头、配合部门)",
        {
            "in_app": ("新的督办任务:{{ number }}", TASK + "已立项,牵头部门{{ department_name }},办结时限 {{ deadline }}。"),
            "email": (
                "【一网】新的督办任务:{{ number }}",
                "{{ recipient_name }},您好:\n\n" + TASK + "已立项,牵头部门{{ department_name }},"
                "办结时限 {{ deadline }}。请按节点推进并报送进度。\n\n" + LINK,
            ),
        },
    ),
    (
        "oversight.urged",
        "督办任务催办(牵头部门)",
        {
            "in_app": ("催办:{{ number }}", TASK + "收到督查室催办:{{ note }}"),
            "email": ("【一网】督办任务催办:{{ number }}", "{{ recipient_name }},您好:\n\n" + TASK + "收到督查室催办:{{ note }}\n\n" + LINK),
            "sms": ("督办催办", "督办任务{{ number }}({{ title }})收到督查室催办,请尽快推进并报送进度。"),
        },
    ),
    (
        "oversight.reminder",
        "督办节点临近时限(牵头部门)",
        {
            "in_app": ("节点临近时限:{{ number }}", TASK + "的节点「{{ milestone }}」时限为 {{ due_date }},请按时报送。"),
            "email": (
                "【一网】督办节点临近时限:{{ number }}",
                "{{ recipient_name }},您好:\n\n" + TASK + "的节点「{{ milestone }}」时限为 {{ due_date }},请按时报送。\n\n" + LINK,
            ),
        },
    ),
    (
        "oversight.escalated",
        "督办任务超期(部门负责人、市领导)",
        {
            "in_app": ("督办超期(红灯):{{ number }}", TASK + "的「{{ milestone }}」已超过时限 {{ due_date }},亮红灯。"),
            "email": (
                "【一网】督办任务超期:{{ number }}",
                "{{ recipient_name }},您好:\n\n" + TASK + "的「{{ milestone }}」已超过时限 {{ due_date }},"
                "亮红灯,请督促牵头部门{{ department_name }}办理。\n\n" + LINK,
            ),
            "sms": ("督办超期", "督办任务{{ number }}({{ title }})已超期亮红灯,请督促办理。"),
        },
    ),
    (
        "oversight.report_accepted",
        "进度报送已通过(报送人)",
        {"in_app": ("进度已通过:{{ number }}", TASK + "的「{{ milestone }}」已通过督查室审核。{{ note }}")},
    ),
    (
        "oversight.report_returned",
        "进度报送被退回(报送人)",
        {"in_app": ("进度被退回:{{ number }}", TASK + "的「{{ milestone }}」被督查室退回:{{ note }}")},
    ),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [
        ("oversight", "0001_tasks_milestones_reports"),
        ("messaging", "0002_seed_templates"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
