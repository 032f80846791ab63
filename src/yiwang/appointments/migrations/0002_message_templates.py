"""The appointment notices in the message centre (created when missing; an operator's edits stay)."""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

TEMPLATES = [
    (
        "appointments.booked",
        "预约成功",
        {
            "in_app": (
                "预约成功:{{ item }}",
                "您已预约{{ date }} {{ time }}在{{ hall }}办理“{{ item }}”,预约号 {{ number }}。请按时到大厅签到,如不能前往请提前取消。",
            ),
            "sms": (
                "预约成功",
                "您已预约{{ date }} {{ time }}在{{ hall }}办理{{ item }},预约号{{ number }}。如不能前往请提前取消。",
            ),
        },
        "service",
    ),
    (
        "appointments.reminder",
        "预约提醒(前一日)",
        {
            "in_app": (
                "预约提醒:{{ date }} {{ time }}",
                "提醒:您预约了{{ date }} {{ time }}在{{ hall }}({{ address }})办理“{{ item }}”,预约号 {{ number }}。请携带身份证按时签到。",
            ),
            "sms": (
                "预约提醒",
                "提醒:您预约了{{ date }} {{ time }}在{{ hall }}办理{{ item }},预约号{{ number }},请按时签到。",
            ),
        },
        "service",
    ),
    (
        "appointments.kiosk_code",
        "自助终端登录验证码",
        {"sms": ("自助终端登录验证码", "您正在{{ hall }}自助终端登录,验证码 {{ code }},{{ minutes }} 分钟内有效。如非本人操作请忽略。")},
        "legal",
    ),
]


def seed(apps, schema_editor):
    seed_message_templates(apps, TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0001_bookings_slots_kiosks"),
        ("messaging", "0003_delivery_claim_kind_preferences"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
