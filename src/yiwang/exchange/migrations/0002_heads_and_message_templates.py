"""The evidence log's chain head, the cache generation row, and the exchange's notification
templates in the message centre (created when missing; an operator's edits are never overwritten).
Variables: see docs/exchange.md."""

from django.db import migrations

from yiwang.core.migration_helpers import seed_message_templates

GENESIS = "0" * 64
LINK = "{{ site_url }}{{ url }}"
REQUEST = "{{ consumer_department }}申请共享 {{ registry }} 的数据项 {{ fields }}(申请 #{{ request_id }},用途:{{ purpose }})"
DISPUTE = "数据异议 #{{ dispute_id }}({{ registry }}.{{ field }})"

# (code, name, {channel: (subject, body)})
TEMPLATES = [
    (
        "exchange.request_new",
        "新的共享申请(来源部门)",
        {"in_app": ("新的共享申请 #{{ request_id }}", REQUEST + ",请在 {{ due_date }} 前答复。")},
    ),
    (
        "exchange.request_due",
        "共享申请临近答复期限(来源部门)",
        {
            "in_app": ("共享申请临近答复期限 #{{ request_id }}", REQUEST + ",答复期限为 {{ due_date }},请抓紧审核。"),
            "email": (
                "【一网】共享申请临近答复期限 #{{ request_id }}",
                "{{ recipient_name }},您好:\n\n" + REQUEST + ",答复期限为 {{ due_date }},请抓紧审核。\n\n" + LINK,
            ),
        },
    ),
    (
        "exchange.request_overdue",
        "共享申请超期未答复(督办)",
        {
            "in_app": ("共享申请超期未答复 #{{ request_id }}", REQUEST + ",已超过答复期限 {{ due_date }},请立即处理。"),
            "email": (
                "【一网】共享申请超期未答复 #{{ request_id }}",
                "{{ recipient_name }},您好:\n\n" + REQUEST + ",已超过答复期限 {{ due_date }},请立即处理。\n\n" + LINK,
            ),
        },
    ),
    (
        "exchange.request_decided",
        "共享申请已答复(申请人)",
        {"in_app": ("共享申请 #{{ request_id }}:{{ status }}", "您提交的共享申请 #{{ request_id }} {{ status }}。{{ reason }}")},
    ),
    (
        "exchange.dispute_new",
        "新的数据异议(来源部门)",
        {"in_app": ("新的" + DISPUTE, "收到" + DISPUTE + ",请在 {{ due_date }} 前核实并更正或答复。")},
    ),
    (
        "exchange.dispute_due",
        "数据异议临近核实期限(来源部门)",
        {
            "in_app": (DISPUTE + "临近核实期限", DISPUTE + "的核实期限为 {{ due_date }},请抓紧处理。"),
            "email": (
                "【一网】" + DISPUTE + "临近核实期限",
                "{{ recipient_name }},您好:\n\n" + DISPUTE + "的核实期限为 {{ due_date }},请抓紧处理。\n\n" + LINK,
            ),
        },
    ),
    (
        "exchange.dispute_overdue",
        "数据异议超期未核实(督办)",
        {
            "in_app": (DISPUTE + "超期未核实", DISPUTE + "已超过核实期限 {{ due_date }},请立即处理。"),
            "email": (
                "【一网】" + DISPUTE + "超期未核实",
                "{{ recipient_name }},您好:\n\n" + DISPUTE + "已超过核实期限 {{ due_date }},请立即处理。\n\n" + LINK,
            ),
        },
    ),
    (
        "exchange.dispute_resolved",
        "数据异议已处理(提出人)",
        {"in_app": ("您的数据异议已处理:{{ status }}", "您提出的" + DISPUTE + "已处理:{{ status }}。{{ reason }}")},
    ),
]


def seed(apps, schema_editor):
    apps.get_model("exchange", "ExchangeLogHead").objects.get_or_create(pk=1, defaults={"sequence": 0, "hash": GENESIS})
    apps.get_model("exchange", "ExchangeState").objects.get_or_create(pk=1, defaults={"generation": 0})
    seed_message_templates(apps, TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0001_catalog_requests_grants_log_disputes"),
        ("messaging", "0002_seed_templates"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
