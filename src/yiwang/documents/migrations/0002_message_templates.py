"""The documents app's notification templates in the message centre (created when missing; an
operator's edits are never overwritten). Variables: title, number, step, department, reason,
issued; for swaps from_name, department, starts, ends (docs/documents.md)."""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

LINK = "{{ site_url }}{{ url }}"

# (code, name, {channel: (subject, body)})
TEMPLATES = [
    (
        "documents.step_pending",
        "公文待办(办理人)",
        {
            "in_app": (
                "公文待{{ step }}:{{ title }}",
                "{{ department }}的公文《{{ title }}》已送达,请{{ step }}。",
            ),
        },
    ),
    (
        "documents.returned",
        "公文被退回(拟稿人)",
        {
            "in_app": (
                "公文被退回:{{ title }}",
                "您拟稿的《{{ title }}》在“{{ step }}”环节被退回。理由:{{ reason }}",
            ),
        },
    ),
    (
        "documents.received",
        "收到公文,请签收(收文方)",
        {
            "in_app": (
                "收文待签收:{{ number }}",
                "{{ department }}印发《{{ title }}》({{ number }}),请及时签收。",
            ),
        },
    ),
    (
        "documents.ack_reminder",
        "公文未签收催签(收文方)",
        {
            "in_app": (
                "催签:{{ number }}",
                "{{ department }}于 {{ issued }} 印发的《{{ title }}》({{ number }})尚未签收,请及时签收。",
            ),
            "email": (
                "【一网】公文催签:{{ number }}",
                "{{ recipient_name }},您好:\n\n{{ department }}于 {{ issued }} 印发的《{{ title }}》({{ number }})"
                "尚未签收,请及时签收。\n\n" + LINK + "\n\n(本邮件由系统自动发送,请勿回复)",
            ),
        },
    ),
    (
        "documents.swap_requested",
        "换班申请(接班人)",
        {
            "in_app": (
                "换班申请:{{ starts }}",
                "{{ from_name }}请您替班:{{ department }} {{ starts }} 至 {{ ends }}。请在值班表中确认或拒绝。",
            ),
        },
    ),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_documents_initial"),
        ("messaging", "0002_seed_templates"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
