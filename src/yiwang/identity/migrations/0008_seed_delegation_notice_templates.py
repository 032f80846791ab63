"""The notices an agent gets about a delegation (授权代办): when it is given to him, and when it
ends before its term (the principal revokes it). Variables: principal_name (an enterprise's name,
or a citizen's masked name), items (「全部事项」 or the implementation codes), valid_until, and
url (the agent's 我的授权 page). Creates what is missing; never overwrites an operator's edit."""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

LINK = "{{ site_url }}{{ url }}"

TEMPLATES = [
    (
        "identity.delegation_given",
        "授权代办:获得授权(被授权人)",
        {
            "in_app": (
                "{{ principal_name }}授权您代为办理",
                "{{ principal_name }}授权您代为办理政务服务事项:{{ items }},有效期至 {{ valid_until }}。"
                "请在“我的授权”中选择“代{{ principal_name }}办理”。如您不认识授权人,可在该页放弃授权。"
                + LINK,
            ),
            "sms": (
                "授权代办通知",
                "{{ principal_name }}授权您代为办理政务服务事项(有效期至 {{ valid_until }}),请登录一网“我的授权”查看。",
            ),
        },
    ),
    (
        "identity.delegation_revoked",
        "授权代办:授权已终止(被授权人)",
        {
            "in_app": (
                "{{ principal_name }}的授权已终止",
                "{{ principal_name }}对您的授权代办(授权编号 {{ delegation_id }},原有效期至 {{ valid_until }})"
                "已提前终止,您不能再代其办理。" + LINK,
            ),
            "sms": (
                "授权代办终止",
                "{{ principal_name }}对您的授权代办已提前终止,您不能再代其办理政务服务事项。",
            ),
        },
    ),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES, kind="service")


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0007_seed_assist_request_template"),
        ("messaging", "0003_delivery_claim_kind_preferences"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
