"""The work-instruction (一键触达) notification templates, so every install has them.

Creates what is missing and never overwrites a template an operator has edited in the admin.
Variables: see docs/messaging.md, "Work instructions".
"""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

LINK = "{{ site_url }}{{ url }}"

# (code, name, {channel: (subject, body)})
TEMPLATES = [
    (
        "staff.instruction",
        "工作指令(一键触达,接收人)",
        {
            "in_app": (
                "工作指令:{{ title }}",
                "{{ sender_name }}发来工作指令「{{ title }}」,请于 {{ deadline }} 前阅读并确认收到。",
            ),
            "email": (
                "【一网】工作指令:{{ title }}",
                "{{ recipient_name }},您好:\n\n{{ sender_name }}发来工作指令「{{ title }}」:\n\n{{ body }}\n\n"
                "请于 {{ deadline }} 前登录工作台确认收到:" + LINK + "\n\n(本邮件由系统自动发送,请勿回复)",
            ),
            "sms": (
                "工作指令",
                "{{ sender_name }}发来工作指令「{{ title }}」,请于{{ deadline }}前登录工作台确认收到。",
            ),
        },
    ),
    (
        "staff.instruction_overdue",
        "工作指令逾期未确认(部门负责人)",
        {
            "in_app": (
                "工作指令逾期未确认:{{ title }}",
                "{{ department_name }}的{{ recipient_list }}未在 {{ deadline }} 前确认{{ sender_name }}的工作指令"
                "「{{ title }}」,请督促落实。",
            ),
            "email": (
                "【一网】工作指令逾期未确认:{{ title }}",
                "{{ recipient_name }},您好:\n\n{{ department_name }}的{{ recipient_list }}未在 {{ deadline }} 前"
                "确认{{ sender_name }}的工作指令「{{ title }}」,请督促落实。\n\n查看:" + LINK
                + "\n\n(本邮件由系统自动发送,请勿回复)",
            ),
        },
    ),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES, kind="service")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_staff_chat_instructions")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
