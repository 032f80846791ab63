"""The platform's notification templates, so every install has them.

Creates what is missing and never overwrites a template an operator has edited in the admin.
Variables: see docs/messaging.md.
"""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

LINK = "{{ site_url }}{{ url }}"
CASE = "{{ item_name }}(办件编号 {{ number }})"

# (code, name, {channel: (subject, body)})
TEMPLATES = [
    (
        "case.sla_warning",
        "办件临近超期(承办人、部门负责人)",
        {
            "in_app": (
                "办件临近超期:{{ number }}",
                "{{ department_name }}办理的" + CASE + "已用去承诺时限的 80% 以上,"
                "办结期限为 {{ due_date }},请抓紧办理。",
            ),
            "email": (
                "【一网】办件临近超期:{{ number }}",
                "{{ recipient_name }},您好:\n\n{{ department_name }}办理的" + CASE + "已用去承诺时限的 80% 以上,"
                "办结期限为 {{ due_date }},请抓紧办理。\n\n查看办件:" + LINK + "\n\n(本邮件由系统自动发送,请勿回复)",
            ),
        },
    ),
    (
        "case.sla_overdue",
        "办件已超期(承办人、部门负责人)",
        {
            "in_app": (
                "办件已超期:{{ number }}",
                "{{ department_name }}办理的" + CASE + "已超过办结期限 {{ due_date }},请立即办理并说明情况。",
            ),
            "email": (
                "【一网】办件已超期:{{ number }}",
                "{{ recipient_name }},您好:\n\n{{ department_name }}办理的" + CASE + "已超过办结期限 {{ due_date }},"
                "请立即办理并说明情况。\n\n查看办件:" + LINK + "\n\n(本邮件由系统自动发送,请勿回复)",
            ),
            "sms": ("办件已超期", "办件{{ number }}({{ item_name }})已超过办结期限{{ due_date }},请立即办理。"),
        },
    ),
    (
        "case.accepted",
        "已受理(申请人)",
        {
            "in_app": ("您的申请已受理", "您申请的" + CASE + "已受理,办结期限为 {{ due_date }}。"),
            "sms": ("申请已受理", "您申请的{{ item_name }}(办件编号{{ number }})已受理,办结期限{{ due_date }}。"),
        },
    ),
    (
        "case.supplement_requested",
        "需要补正(申请人)",
        {
            "in_app": (
                "请补正材料:{{ number }}",
                "您申请的" + CASE + "需要补正材料,请查看一次性告知的补正内容并及时提交。",
            ),
            "sms": ("请补正材料", "您申请的{{ item_name }}(办件编号{{ number }})需要补正材料,请登录查看补正告知。"),
        },
    ),
    (
        "case.refused",
        "不予受理(申请人)",
        {
            "in_app": (
                "您的申请不予受理",
                "您申请的" + CASE + "不予受理,理由和救济途径请查看办件详情和不予受理通知书。",
            ),
            "sms": ("申请不予受理", "您申请的{{ item_name }}(办件编号{{ number }})不予受理,请登录查看理由。"),
        },
    ),
    (
        "case.approved",
        "准予许可(申请人)",
        {
            "in_app": ("您的申请已获准予", "您申请的" + CASE + "已作出准予许可的决定。"),
            "sms": ("申请已获准予", "您申请的{{ item_name }}(办件编号{{ number }})已准予许可。"),
        },
    ),
    (
        "case.rejected",
        "不予许可(申请人)",
        {
            "in_app": (
                "您的申请不予许可",
                "您申请的" + CASE + "作出不予许可的决定,理由和救济途径请查看决定书。",
            ),
            "sms": ("申请不予许可", "您申请的{{ item_name }}(办件编号{{ number }})不予许可,请登录查看决定书。"),
        },
    ),
    (
        "case.delivered",
        "已送达(申请人)",
        {
            "in_app": ("办件已送达:{{ number }}", "您申请的" + CASE + "的决定已送达,办理完毕。"),
            "sms": ("办件已送达", "您申请的{{ item_name }}(办件编号{{ number }})决定已送达,办理完毕。"),
        },
    ),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_messages_templates_deliveries")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
