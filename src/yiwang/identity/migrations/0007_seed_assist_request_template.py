"""The notice a citizen gets when a window clerk asks to fill in for them (帮办). It carries no
consent code: the code is shown once on the citizen's own phone, never sent or stored in clear.
Creates what is missing; never overwrites a template an operator has edited."""

from django.db import migrations

TEMPLATES = [
    (
        "identity.assist_request",
        "帮办同意申请(申请人)",
        {
            "in_app": (
                "窗口工作人员申请为您帮办",
                "政务服务窗口工作人员{{ clerk_name }}申请代您在一网账号上填报办理。如您本人正在窗口,"
                "请在“我的账户 › 帮办授权”中同意并把同意码告诉工作人员;不是您本人申请请拒绝。",
            ),
            "sms": (
                "帮办同意申请",
                "窗口工作人员{{ clerk_name }}申请为您帮办。本人在窗口请登录一网“帮办授权”查看同意码;非本人请勿理会。",
            ),
        },
    ),
]


def seed(apps, schema_editor):
    Template = apps.get_model("messaging", "Template")
    for code, name, variants in TEMPLATES:
        for channel, (subject, body) in variants.items():
            Template.objects.get_or_create(
                code=code, channel=channel, defaults={"name": name, "subject": subject, "body": body, "active": True}
            )


class Migration(migrations.Migration):
    dependencies = [("identity", "0006_delegation_and_assist_consent"), ("messaging", "0002_seed_templates")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
